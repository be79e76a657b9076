from __future__ import annotations

import datetime as dt

import pytest

from saylau import SaylauInputError, UnknownNameError
from saylau.domain.choices import Choice
from saylau.domain.election import (
    Commission,
    Contest,
    Election,
    PollingStation,
    hierarchy_from_table,
)
from saylau.io import read_protocols, sample_path


def test_hierarchy_from_the_bundled_sample_adds_up() -> None:
    table = read_protocols(sample_path())
    root = hierarchy_from_table(table)
    assert root.registered() == int(table.registered().sum())
    assert len(root.stations()) == table.stations
    assert {c.level for c in root.walk()} == {"central", "territorial", "district", "precinct"}
    assert len(root.children) == 5  # five regions in the sample (src/saylau/data/README.md)


def test_commission_levels_are_ordered() -> None:
    precinct = Commission(id="1", level="precinct")
    with pytest.raises(SaylauInputError, match="below"):
        precinct.add(Commission(id="x", level="territorial"))
    with pytest.raises(UnknownNameError):
        Commission(id="x", level="oblast")
    with pytest.raises(SaylauInputError):
        PollingStation(id="1", registered=-1)


def test_election_with_against_all_contest() -> None:
    ballot = tuple(Choice.from_name(n, kind="party") for n in ("Amanat", "Барлығына қарсы"))
    e = Election(
        kind="parliamentary_list",
        date=dt.date(2023, 3, 19),
        rules="kz-mazhilis-2023",
        contests=(Contest(id="list", name="Party list", choices=ballot, seats=69),),
    )
    assert e.rule_set.threshold_base == "valid"
    assert e.contests[0].against_all is not None
    assert e.contests[0].against_all.kind == "against_all"
