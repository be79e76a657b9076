"""The per-row check (:func:`check_row`, used by the service per copy) against the table check
(:func:`validate`) on real protocols: both read the same relation objects of the profile, and
this test keeps their arithmetic from drifting apart.

Rows: samples of the real files in ../shared/data (Russia 2004 with Against all, 2012, 2021,
Poland 2020, the Moscow 2011 observers' copies with their empty cells and their 12 failing
copies, and the official Moscow file), each row once as published and once with one figure
changed or blanked by a seeded draw, so that strict failures, soft failures and relations that
cannot be checked all occur. Every shipped profile is also covered by Hypothesis rows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau.domain.checks import Violation, check_row, validate
from saylau.domain.profiles import PROFILES
from saylau.domain.table import ProtocolTable
from tests.conftest import shared_file, shared_table
from tests.domain.test_checks import _moscow

SAMPLE = 1500


def _figure_columns(table: ProtocolTable) -> list[str]:
    lines = [k for k in table.profile.line_keys if k in table.frame.columns]
    return lines + [c.id for c in table.choices]


def _perturbed(table: ProtocolTable, rng: np.random.Generator) -> ProtocolTable:
    """A sample of the table's rows, then each of them again with one figure changed."""
    frame = table.frame
    if frame.height > SAMPLE:
        frame = frame[np.sort(rng.choice(frame.height, SAMPLE, replace=False)).tolist()]
    cols = _figure_columns(table)
    rows = frame.select("station", *cols).to_dicts()
    changed = []
    for row in rows:
        new = dict(row, station=f"{row['station']}*")
        col = cols[int(rng.integers(len(cols)))]
        how = int(rng.integers(4))
        if how == 0:
            new[col] = None  # an illegible cell: not checkable
        elif how == 1:
            new[col] = 0
        else:
            new[col] = (new[col] or 0) + int(rng.choice([-1, 1])) * int(rng.integers(1, 40))
        changed.append(new)
    both = pl.DataFrame(rows + changed, schema=frame.select("station", *cols).schema)
    return ProtocolTable.from_frame(both, profile=table.profile, choices=list(table.choices))


def _cross_check(table: ProtocolTable) -> dict[str, int]:
    report = validate(table)
    status = dict(report.status_frame().iter_rows())
    by_station: dict[str, list[Violation]] = defaultdict(list)
    for v in report.violations:
        by_station[v.station].append(v)
    cols = _figure_columns(table)
    choices = [c.id for c in table.choices]
    for row in table.frame.select("station", *cols).iter_rows(named=True):
        station = row.pop("station")
        one = check_row(row, profile=table.profile, choices=choices, station=station)
        assert one.status == status[station], station
        assert list(one.violations) == by_station.get(station, []), station
    return {"ok": report.ok, "soft": report.soft_failed, "failed": report.failed}


REAL = [
    ("russia", "2004.csv.zip"),
    ("russia", "2012.csv.zip"),
    ("russia", "2021.csv.zip"),
    ("poland-2020", "round1.csv.zip"),
]


@pytest.mark.realdata
@pytest.mark.parametrize("parts", REAL, ids=["-".join(p) for p in REAL])
def test_check_row_agrees_with_validate_on_real_files(parts: tuple[str, str]) -> None:
    table = _perturbed(shared_table(*parts), np.random.default_rng(2026))
    counts = _cross_check(table)
    # the changed copies make every status occur (the check can fail)
    assert counts["failed"] > 100 and counts["soft"] > 0 and counts["ok"] > SAMPLE // 2


@pytest.mark.realdata
def test_check_row_agrees_with_validate_on_moscow_copies() -> None:
    """The 97 observers' copies as typed (12 fail a strict relation; some cells are empty,
    ../shared/data/README.md), the official protocols, and both changed by a seeded draw."""
    copies = _moscow(str(shared_file("moscow-2011-observers", "result_412_GN.csv")))
    official = _moscow(str(shared_file("moscow-2011-observers", "result_412_OF.csv")))
    as_typed = _cross_check(copies)
    assert as_typed["failed"] >= 10  # as test_checks.test_moscow_2011_observer_copies
    assert _cross_check(official)["failed"] == 0
    rng = np.random.default_rng(11)
    assert _cross_check(_perturbed(copies, rng))["failed"] > as_typed["failed"]
    assert _cross_check(_perturbed(official, rng))["failed"] > 100


@st.composite
def _profile_rows(draw: st.DrawFn) -> tuple[str, list[dict[str, int | None]], list[str]]:
    name = draw(st.sampled_from(sorted(PROFILES)))
    prof = PROFILES[name]
    choices = ["A", "B", "Против всех"][: draw(st.integers(0, 3))]
    keys = [*prof.line_keys, *choices]
    figure = st.one_of(st.none(), st.integers(0, 30))
    rows = draw(st.lists(st.fixed_dictionaries({k: figure for k in keys}), min_size=1, max_size=8))
    return name, rows, choices


@settings(max_examples=150, deadline=None)
@given(_profile_rows())
def test_check_row_agrees_with_validate_on_every_profile(
    case: tuple[str, list[dict[str, int | None]], list[str]],
) -> None:
    name, rows, choices = case
    keys = [*PROFILES[name].line_keys, *choices]
    frame = pl.DataFrame(
        [{"station": str(i), **r} for i, r in enumerate(rows)],
        schema={"station": pl.Utf8, **dict.fromkeys(keys, pl.Int64)},
    )
    _cross_check(ProtocolTable.from_frame(frame, profile=name, choices=choices))


def test_check_row_refuses_a_row_without_a_choice() -> None:
    with pytest.raises(ValueError, match="choice figure missing"):
        check_row({"valid": 1}, profile="plain", choices=["A"])
