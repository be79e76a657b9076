"""Validation: closed-form cases, Hypothesis invariants, and a real observers' file."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau import get_profile
from saylau.domain.checks import validate
from saylau.domain.table import ProtocolTable
from tests.conftest import shared_file

LINES = list(get_profile("ru-federal-2018").line_keys)


@st.composite
def consistent_protocol(draw: st.DrawFn) -> dict[str, int]:
    """A 2018-layout protocol that satisfies every strict and soft relation by construction."""
    a = draw(st.integers(0, 500))
    b = draw(st.integers(0, 500))
    early = draw(st.integers(0, 50))
    outside = draw(st.integers(0, 50))
    in_station = draw(st.integers(0, 1000))
    cancelled = draw(st.integers(0, 300))
    mobile = draw(st.integers(0, early + outside))
    stationary = draw(st.integers(0, in_station))
    found = mobile + stationary
    invalid = draw(st.integers(0, found))
    valid = found - invalid
    a = min(a, valid)
    b = min(b, valid - a)
    issued = early + in_station + outside
    return {
        "voters_on_list": issued + draw(st.integers(0, 500)),
        "ballots_received": issued + cancelled,
        "issued_early": early,
        "issued_in_station": in_station,
        "issued_outside": outside,
        "cancelled": cancelled,
        "in_mobile": mobile,
        "in_stationary": stationary,
        "invalid": invalid,
        "valid": valid,
        "lost": 0,
        "not_recorded": 0,
        "A": a,
        "B": b,
        "Против всех": valid - a - b,
    }


def _table(rows: list[dict[str, int]]) -> ProtocolTable:
    frame = pl.DataFrame(rows).with_columns(
        pl.Series("station", [f"№{i}" for i in range(len(rows))])
    )
    return ProtocolTable.from_frame(
        frame, profile="ru-federal-2018", choices=["A", "B", "Против всех"]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(consistent_protocol(), min_size=1, max_size=20))
def test_consistent_protocols_pass(rows: list[dict[str, int]]) -> None:
    r = validate(_table(rows))
    assert (r.ok, r.soft_failed, r.failed) == (len(rows), 0, 0)
    assert r.violations == ()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(consistent_protocol(), min_size=2, max_size=20),
    st.data(),
)
def test_a_changed_vote_count_fails_exactly_that_station(
    rows: list[dict[str, int]], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(rows) - 1))
    delta = data.draw(st.integers(1, 50))
    rows[i] = {**rows[i], "A": rows[i]["A"] + delta}  # vote padding not carried to line 10
    r = validate(_table(rows))
    assert r.failed == 1
    v = [v for v in r.violations if v.relation == "valid_equal_votes"]
    assert len(v) == 1 and v[0].station == f"№{i}"
    assert v[0].found == rows[i]["valid"] and v[0].difference == -delta
    assert v[0].line_numbers == (10, None)


def test_soft_and_strict_statuses() -> None:
    base = {k: 0 for k in LINES} | {"A": 0, "B": 0, "Против всех": 0}
    ok = base | {
        "voters_on_list": 10,
        "ballots_received": 10,
        "issued_in_station": 5,
        "cancelled": 5,
        "in_stationary": 5,
        "valid": 5,
        "A": 5,
    }
    soft = ok | {"voters_on_list": 4}  # more ballots issued than voters on the list
    failed = ok | {"cancelled": 4}  # received 10 != 5 + 4
    r = validate(_table([ok, soft, failed]))
    assert r.status_frame().get_column("status").to_list() == ["ok", "soft", "failed"]
    by = {v.relation: v for v in r.violations}
    assert by["list_covers_issued"].found == 4 and by["list_covers_issued"].expected == 5
    assert by["ballots_received_balance"].difference == 1
    assert r.to_frame().height == 2


def test_empty_cells_are_not_checkable_not_passed() -> None:
    frame = pl.DataFrame(
        {
            "station": ["1", "2"],
            "voters_on_list": [10, 10],
            "issued": [5, None],
            "invalid": [0, 0],
            "valid": [5, 5],
            "A": [5, None],
        },
        schema_overrides={"issued": pl.Int64, "A": pl.Int64},
    )
    r = validate(ProtocolTable.from_frame(frame, profile="plain", choices=["A"]))
    assert r.by_relation["valid_equal_votes"]["not_checkable"] == 1
    assert r.by_relation["list_covers_issued"]["not_checkable"] == 1
    assert r.failed == 0


# the 2011 protocol: 18 numbered lines (the 2011 profile), then the 7 parties in ballot order
MOSCOW = [
    *get_profile("ru-federal-2011").line_keys,
    "SR",
    "LDPR",
    "PR",
    "KPRF",
    "Yabloko",
    "ER",
    "PD",
]


def _moscow(path: str) -> ProtocolTable:
    frame = pl.read_csv(path, separator=";", has_header=False, infer_schema_length=0)
    frame = frame.select(
        pl.col("column_0").alias("station"),
        *[pl.col(f"column_{i + 4}").cast(pl.Int64).alias(k) for i, k in enumerate(MOSCOW)],
    )
    return ProtocolTable.from_frame(frame, profile="ru-federal-2011", choices=MOSCOW[18:])


@pytest.mark.realdata
def test_moscow_2011_observer_copies() -> None:
    """Source: ../shared/data/README.md: 12 observers' transcriptions fail a strict relation;
    all official rows satisfy the strict relations (checked independently there with the same
    arithmetic 7+8=9+10, 10=Σ19..25, 2=3+4+5+6+17-18)."""
    table = _moscow(str(shared_file("moscow-2011-observers", "result_412_GN.csv")))
    named = {"ballots_received_balance", "boxes_equal_found", "valid_equal_votes"}
    # the README's count reads empty cells as 0 and checks the three named relations
    zero_filled = validate(dataclasses.replace(table, frame=table.frame.fill_null(0)))
    failing = {v.station for v in zero_filled.violations if v.relation in named}
    assert zero_filled.stations == 97
    assert len(failing) == 12
    # saylau's rule: an empty cell makes a relation not checkable (never passed, never failed);
    # every one of the 12 is then either failed or has a not-checkable relation
    copies = validate(table)
    unknown = {
        row["station"]
        for row in table.frame.filter(pl.any_horizontal(pl.all().is_null())).to_dicts()
    }
    failed = set(copies.status_frame().filter(pl.col("status") == "failed").get_column("station"))
    assert failing <= failed | unknown
    assert copies.failed >= 10
    official = validate(_moscow(str(shared_file("moscow-2011-observers", "result_412_OF.csv"))))
    assert official.failed == 0
