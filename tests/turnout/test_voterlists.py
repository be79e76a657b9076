"""Voter lists across elections: matching, list jumps, territory tests and their calibration.

Expected numbers: simulated elections with a known inflated territory; the clean Polish 2020
control (the data README: a clean election, the negative control) for the false-alarm rate;
the official results of the Russian CEC for Chechnya (turnout 99.5% in the 2011 Duma election
and 99.6% in the 2012 presidential election, as published by the CEC and reported by RIA
Novosti on 5 Dec 2011 and 5 Mar 2012), which the turnout-at-99% territory test must find.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from saylau.domain.table import ProtocolTable
from saylau.forensics.simulate import simulate_election
from saylau.turnout.voterlists import (
    calibrate_voter_lists,
    match_stations,
    normalize_unit,
    voter_list_checks,
)
from tests.conftest import shared_table


def _next_election(
    table: ProtocolTable, *, inflate: str | None, rng: int
) -> tuple[ProtocolTable, np.ndarray]:
    """The same stations at a later election: lists drift by a few percent; in ``inflate``
    a third of the stations get 40% more registered voters."""
    gen = np.random.default_rng(rng)
    reg = table.registered()
    new = np.round(reg * np.exp(gen.normal(0, 0.03, len(reg)))).astype(np.int64)
    region = table.level_values("region")
    hit = (region == inflate) & (gen.random(len(reg)) < 1 / 3)
    new = np.where(hit, np.round(new * 1.4).astype(np.int64), new)
    later = ProtocolTable.from_frame(
        table.frame.with_columns(pl.Series("voters_on_list", new)),
        profile=table.profile,
        choices=table.choices,
        levels=table.levels,
        source="later",
    )
    return later, hit


def test_normalisation_and_matching_rules() -> None:
    assert normalize_unit("Город Москва") == normalize_unit("город  МОСКВА")
    assert normalize_unit("Орёл") == "орел"
    assert normalize_unit("2 район Арбат", sort_words=True) == normalize_unit(
        "Арбат район", sort_words=True
    )

    def t(ids: list[str], region: str) -> ProtocolTable:
        reg = [500] * len(ids)
        return ProtocolTable.from_frame(
            pl.DataFrame(
                {
                    "station": [f"{region}/{i}" for i in ids],
                    "region": [region] * len(ids),
                    "tik": ["1 Центральная"] * len(ids),
                    "uik": ids,
                    "voters_on_list": reg,
                    "issued": reg,
                    "valid": reg,
                    "A": reg,
                }
            ),
            profile="plain",
            choices=["A"],
            levels=["region", "tik", "uik"],
        )

    a = t(["УИК №0012", "УИК №13", "14", "14"], "Республика Татарстан (Татарстан)")
    b = t(["12", "13", "14"], "Республика Татарстан")
    m = match_stations(a, b)
    # 12 and 13 by region + territory + number; 14 is ambiguous in A: left unmatched
    assert m.by_rule["region + territory + number"] == 2 and m.ambiguous == 1
    assert m.matched == 2 and m.share_b == pytest.approx(2 / 3)


def test_inflated_territory_found_clean_ones_not() -> None:
    base = simulate_election(stations=3000, regions=8, rng=11).table
    later, _ = _next_election(base, inflate="R03", rng=12)
    res = voter_list_checks([base, later], names=["before", "after"])
    jump = res.territories.filter(pl.col("check") == "list_jump")
    assert jump.filter(pl.col("alarm")).get_column("territory").to_list() == ["R03"]
    m = res.matches["before → after"]
    assert m.share_a == 1.0 and m.by_rule["station id"] == 3000


def test_clean_pairs_raise_alarms_at_most_at_the_level() -> None:
    reps, level, any_alarm = 20, 0.01, 0
    for seed in range(reps):
        base = simulate_election(stations=1500, regions=8, rng=seed)
        res = voter_list_checks(
            [base.table, _next_election(base.table, inflate=None, rng=seed)[0]], level=level
        )
        any_alarm += res.finding.alarm
    assert any_alarm / reps <= level + 3 * math.sqrt(level * (1 - level) / reps)


@pytest.mark.realdata
def test_polish_control_calibrates_and_russian_files_run() -> None:
    poland = shared_table("poland-2020", "round1.csv.zip")
    cal = calibrate_voter_lists(poland, by="district")
    assert cal.tests > 300 and cal.alarms == 0
    assert set(cal.not_calibrated) == {"mobile_share", "absentee_share", "list_jump"}
    years = ("2004", "2011", "2012", "2021")
    tables = [shared_table("russia", f"{y}.csv.zip") for y in years]
    res = voter_list_checks(tables, names=years, calibration=cal)
    assert res.finding.false_alarm_rate == 0.0 and res.finding.kind == "test"
    # stations in the data README: 95,225 (2011) and 95,415 (2012); most keep their number
    m = res.matches["2011 → 2012"]
    assert (m.stations_a, m.stations_b) == (95_225, 95_415) and m.share_a > 0.9
    alarms = res.territories.filter(pl.col("alarm") & (pl.col("check") == "turnout_99"))
    for year in ("2011", "2012"):
        hit = alarms.filter(pl.col("election") == year).get_column("territory").to_list()
        assert "Чеченская Республика" in hit


def test_inflated_stations_screened() -> None:
    # inflated log-jump 0.336 + N(0, 0.03) against a threshold near 5 * 0.04 (pooled spread,
    # small-station rounding included) above the territory median: Phi(3.5), nearly all
    base = simulate_election(stations=3000, regions=8, rng=11).table
    later, hit = _next_election(base, inflate="R03", rng=12)
    res = voter_list_checks([base, later], names=["before", "after"])
    truth = set(later.frame.get_column("station").cast(pl.Utf8).filter(pl.Series(hit)))
    flagged = set(res.flagged_stations.filter(pl.col("check") == "list_jump").get_column("station"))
    assert len(flagged & truth) >= 0.9 * len(truth) and len(flagged - truth) <= 5
