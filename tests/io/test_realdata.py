"""The full Russian files load exactly: totals from ../shared/data/README.md."""

from __future__ import annotations

import zipfile

import polars as pl
import pytest

from saylau import tabulate_results
from saylau.domain.checks import validate
from tests.conftest import shared_file, shared_table

# Source: ../shared/data/README.md, "Russian files" (stations / registered / turnout / leader)
PUBLISHED = {
    "2004": (95_779, 108_064_342, 0.6439, 0.7131, "Путин", "ru-federal-2004"),
    "2011": (95_225, 109_229_337, 0.6021, 0.4931, "ЕДИНАЯ РОССИЯ", "ru-federal-2011"),
    "2012": (95_415, 109_860_331, 0.6534, 0.6360, "Путин", "ru-federal-2011"),
    "2021": (96_325, 109_204_662, 0.5172, 0.4982, "ЕДИНАЯ РОССИЯ", "ru-federal-2018"),
}


@pytest.mark.realdata
@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_russian_file_totals_and_checks(year: str) -> None:
    stations, registered, turnout, leader_share, leader, profile = PUBLISHED[year]
    t = shared_table("russia", f"{year}.csv.zip")
    assert t.profile.name == profile
    assert t.stations == stations and t.rejected == ()
    assert int(t.registered().sum()) == registered
    assert round(t.issued().sum() / t.registered().sum(), 4) == turnout
    lead = t.leader()
    assert leader in lead.name
    assert round(t.votes(lead).sum() / t.cast().sum(), 4) == leader_share
    r = validate(t)
    # README: "All official rows satisfy the strict control relations; a handful fail soft ones."
    assert r.failed == 0
    assert 0 < r.soft_failed < 100
    assert (t.against_all is not None) == (year == "2004")


@pytest.mark.realdata
def test_poland_reads_with_empty_territories_counted() -> None:
    t = shared_table("poland-2020", "round1.csv.zip")
    # README: 27,229 precincts; those whose figures are all empty (counted here from the
    # raw file with Polars, not with saylau's reader) are stations without data, kept apart
    with zipfile.ZipFile(shared_file("poland-2020", "round1.csv.zip")) as zf:
        data = zf.read(zf.namelist()[0])
    raw = pl.read_csv(data, separator=";", infer_schema_length=0)
    figures = raw.columns[raw.columns.index("Liczba wyborców uprawnionych do głosowania") :]
    # an empty cell or a lone "-" is "no figure" (README, Formats)
    blank = [pl.col(c).is_null() | (pl.col(c) == "-") for c in figures]
    empty = raw.select(pl.all_horizontal(blank)).to_series()
    assert raw.height == 27_229 and 0 < empty.sum() < 100
    assert t.stations_without_data == empty.sum()
    assert t.stations + t.stations_without_data == 27_229
    duda = t.choice("DUDA Andrzej Sebastian")
    # README: "the precinct sum is 8,450,341 because some cells are empty"
    assert int(t.votes(duda).sum()) == 8_450_341
    assert any("stations without data" in n for n in t.notes)
    assert validate(t).failed == 0


@pytest.mark.realdata
def test_poland_turnout_counts_postal_votes_as_the_commission_does() -> None:
    """PKW's published turnout of the 2020 first round is 64.51% (issue 7; PKW announcement of
    30 June 2020): valid cards taken from the box, postal envelopes included, ÷ voters entitled.
    Ballots issued at the station alone would give 62.99%."""
    t = shared_table("poland-2020", "round1.csv.zip")
    assert t.turnout_basis == "valid_cards"
    turnout = t.turnout_ballots().sum() / t.registered().sum()
    assert round(100 * turnout, 2) == 64.51
    assert round(100 * t.issued().sum() / t.registered().sum(), 2) == 62.99
    tab = tabulate_results(t)
    assert round(100 * tab.national["turnout"], 2) == 64.51
