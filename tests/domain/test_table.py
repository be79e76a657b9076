"""ProtocolTable: the one definition of the ballots that count toward turnout, and stations
without data kept apart from the stations (issue 7, item 4)."""

from __future__ import annotations

import dataclasses

import polars as pl

from saylau.domain.profiles import get_profile
from saylau.domain.table import ProtocolTable, RowProblem


def _table(profile: str = "plain", **lines: list[int]) -> ProtocolTable:
    frame = pl.DataFrame({"station": ["1", "2"], "voters_on_list": [100, 200], **lines})
    frame = frame.with_columns(pl.Series("A", [40, 80]))
    return ProtocolTable.from_frame(frame, profile=profile, choices=["A"])


def test_turnout_is_the_issued_line_when_there_is_one() -> None:
    t = _table(issued=[60, 90], invalid=[2, 3], valid=[40, 80])
    assert t.turnout_basis == "issued"
    assert t.turnout_ballots().tolist() == [60, 90]


def test_turnout_adds_the_issued_parts_of_russian_layouts() -> None:
    t = _table(issued_early=[1, 2], issued_in_station=[50, 80], issued_outside=[4, 5],
               invalid=[2, 3], valid=[40, 80])  # fmt: skip
    assert t.turnout_basis == "issued"
    assert t.turnout_ballots().tolist() == [55, 87]


def test_turnout_without_an_issued_line_counts_the_ballots_found() -> None:
    t = _table(invalid=[2, 3], valid=[40, 80])
    assert t.turnout_basis.startswith("cast")
    assert t.turnout_ballots().tolist() == [42, 83]  # valid + invalid


def test_a_profile_can_name_the_commissions_turnout_line() -> None:
    """Poland's PKW divides the valid cards (postal included) by the voters entitled."""
    assert get_profile("pl-pkw").turnout_line == "valid_cards"
    t = _table("pl-pkw", issued=[60, 90], valid_cards=[63, 95], invalid=[1, 1], valid=[40, 80])
    assert t.turnout_basis == "valid_cards"
    assert t.turnout_ballots().tolist() == [63, 95]
    assert t.issued().tolist() == [60, 90]  # the issued line itself is unchanged
    # without the column the profile falls back to the ballots issued
    t2 = _table("pl-pkw", issued=[60, 90], invalid=[1, 1], valid=[40, 80])
    assert t2.turnout_basis == "issued"


def test_stations_without_data_are_not_stations() -> None:
    t = _table(issued=[60, 90], invalid=[2, 3], valid=[40, 80])
    empty = RowProblem("f.csv", 4, "3", None, "no figures at all: a station without data")
    t = dataclasses.replace(t, no_data=(empty,))
    assert (t.stations, t.stations_without_data) == (2, 1)
    assert t.filter(pl.Series([True, False])).stations_without_data == 1
