"""Tabulation up the hierarchy and the rule sets' verdicts."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau import RULES, UnknownNameError, get_rules
from saylau.domain.table import ProtocolTable
from saylau.tabulate.aggregate import decide, tabulate
from tests.conftest import shared_table


def _table(regions: list[str], votes: np.ndarray) -> ProtocolTable:
    n = len(regions)
    valid = votes.sum(axis=1)
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(n)],
            "region": regions,
            "tik": [f"{r}-{i % 2}" for i, r in enumerate(regions)],
            "voters_on_list": (valid * 2 + 10).tolist(),
            "issued": (valid + 1).tolist(),
            "invalid": [1] * n,
            "valid": valid.tolist(),
            "A": votes[:, 0].tolist(),
            "B": votes[:, 1].tolist(),
            "Против всех": votes[:, 2].tolist(),
        }
    )
    return ProtocolTable.from_frame(
        frame, profile="plain", choices=["A", "B", "Против всех"], levels=["region", "tik"]
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Ақтөбе", "Алматы", "Өскемен"]),
            st.integers(0, 500),
            st.integers(0, 500),
            st.integers(0, 50),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_levels_add_up_to_the_national_total(rows: list[tuple[str, int, int, int]]) -> None:
    t = _table([r[0] for r in rows], np.array([r[1:] for r in rows], dtype=np.int64))
    nat = tabulate(t).national
    for level in ("region", "tik", "station"):
        units = tabulate(t, level=level).units
        for col in ("A", "B", "Против всех", "voters_on_list", "issued", "stations"):
            assert units.get_column(col).sum() == nat[col]
    assert nat["A"] == sum(r[1] for r in rows)


def test_share_bases() -> None:
    t = _table(["x", "y"], np.array([[60, 30, 10], [20, 70, 10]]))
    valid = tabulate(t, base="valid").national
    excl = tabulate(t, base="valid_excl_against_all").national
    cast = tabulate(t, base="cast").national
    assert valid["share:A"] == pytest.approx(80 / 200)
    assert valid["share:Против всех"] == pytest.approx(20 / 200)
    assert excl["share:A"] == pytest.approx(80 / 180) and excl["share:Против всех"] is None
    assert cast["share:A"] == pytest.approx(80 / 202)
    assert valid["turnout"] == pytest.approx(202 / (2 * 200 + 20))
    with pytest.raises(UnknownNameError):
        tabulate(t, base="everyone")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match="hierarchy level"):
        tabulate(t, level="oblast")


def test_against_all_rule_of_russia_2004() -> None:
    # Federal Law 19-FZ art. 77: failed when Against all beats the leader
    o = decide({"A": 30, "B": 20, "Против всех": 31}, "ru-president-2004", registered=100)
    assert not o.valid_election and "Against all" in o.reasons[0]
    o = decide({"A": 40, "B": 20, "Против всех": 31}, "ru-president-2004", registered=100)
    assert o.valid_election and o.winner is None and o.runoff == ("A", "B")


def test_minimum_turnout_is_strictly_more_than_half() -> None:
    o = decide({"A": 50}, "ru-president-2004", registered=100)
    assert not o.valid_election and "turnout" in o.reasons[0]
    o = decide({"A": 51}, "ru-president-2004", registered=100)
    assert o.valid_election and o.winner == "A"


def test_kazakhstan_2023_against_all_counts_but_wins_nothing() -> None:
    o = decide({"X": 40, "Y": 30, "Барлығына қарсы": 45}, "kz-mazhilis-2023-district")
    assert o.valid_election and o.winner == "X"


def test_every_rule_set_cites_a_source() -> None:
    for r in RULES.values():
        assert r.source and r.title
    assert get_rules("kz-mazhilis-2012").threshold == Fraction(7, 100)
    with pytest.raises(UnknownNameError, match="kz-mazhilis-2023"):
        get_rules("kz-2099")


@pytest.mark.realdata
def test_russia_2004_official_outcome() -> None:

    t = shared_table("russia", "2004.csv.zip")
    tab = tabulate(t, level="region", rules="ru-president-2004")
    # 89 federal subjects plus the stations abroad / Baikonur units of the file
    assert tab.units.height >= 89
    o = tab.outcome
    assert o is not None and o.valid_election
    assert o.winner is not None and "Путин" in o.winner
    # CEC of Russia, 2004: Putin 71.31% of the ballots cast (../shared/data/README.md)
    assert round(tab.national[f"share:{t.leader().id}"], 4) == 0.7131


def test_proportional_outcome_through_tabulation() -> None:
    # Mazhilis 2023 national totals (../shared/data/README.md) spread over two regions
    votes = np.array(
        [
            [1_715_755, 346_969, 273_577, 267_570, 216_460, 165_529, 73_216, 124_146],
            [1_715_755, 346_969, 273_577, 267_569, 216_460, 165_529, 73_215, 124_145],
        ]
    )
    names = ["Amanat", "Auyl", "Respublica", "Ak Zhol", "People's Party", "OSDP", "Baytaq"]
    frame = pl.DataFrame(
        {
            "station": ["1", "2"],
            "region": ["Астана", "Алматы"],
            "voters_on_list": [6_000_000, 6_000_000],
            "issued": votes.sum(axis=1).tolist(),
            "invalid": [0, 0],
            "valid": votes.sum(axis=1).tolist(),
            **{n: votes[:, i].tolist() for i, n in enumerate(names)},
            "Барлығына қарсы": votes[:, 7].tolist(),
        }
    )
    t = ProtocolTable.from_frame(
        frame, profile="plain", choices=[*names, "Барлығына қарсы"], levels=["region"]
    )
    o = tabulate(t, rules="kz-mazhilis-2023").outcome
    assert o is not None and o.seats is not None
    assert {k: v for k, v in o.seats.items() if v} == {
        "Amanat": 40,
        "Auyl": 8,
        "Respublica": 6,
        "Ak Zhol": 6,
        "People's Party": 5,
        "OSDP": 4,
    }
    assert "Baytaq" not in o.passed and o.seats["Барлығына қарсы"] == 0
