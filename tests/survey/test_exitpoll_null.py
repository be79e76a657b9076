"""The exit poll's per-stratum tests re-drawn from every station's official protocol.

A small population with a known truth: four regions of 80 stations, each region a mixture of
two kinds of station (the leader near 35% and near 80%, as real regions are bimodal), station
sizes from 200 to 1,200 voters. Honest polls (official = true votes) must be rejected per
region, after Holm, in no more than the nominal 5% of polls (upper end of the 99% band of
Binomial(draws, 0.05), from :func:`saylau.survey.calibration.binomial_band`); a region whose
official protocols add 20 points to the leader (the truth of the interviews is unchanged) must
be rejected when the poll has the power to see it (20 points with 25 stations in the region:
with 12, the spread between the region's two kinds of station hides 8 points).
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from saylau import SaylauWarning
from saylau.cli import app
from saylau.domain.table import ProtocolTable
from saylau.survey.calibration import binomial_band
from saylau.survey.exitpoll import estimate_by_stratum, estimate_exitpoll
from saylau.survey.exitpoll_null import EXITPOLL_NULL
from saylau.survey.exitpoll_sim import fabricate, simulate_exitpoll_on
from saylau.survey.nulltest import approach_rule, redraw_exitpoll_test
from saylau.survey.official import OfficialResults, compare_exit_poll

CHOICES = ["A", "B", "C", "Against all"]


def _population(seed: int) -> ProtocolTable:
    gen = np.random.default_rng(seed)
    n = 320
    region = np.repeat(["N", "S", "E", "W"], n // 4)
    rural = gen.random(n) < 0.4
    lead = np.where(rural, 0.80, 0.35)
    shares = np.column_stack([lead, (1 - lead) * 0.6, (1 - lead) * 0.3, (1 - lead) * 0.1])
    size = gen.integers(200, 1200, size=n)
    votes = np.vstack([gen.multinomial(s, p) for s, p in zip(size, shares, strict=True)])
    frame = pl.DataFrame(
        {
            "station": [f"P{i:04d}" for i in range(n)],
            "region": region,
            "voters_on_list": (size * 1.5).astype(np.int64),
            **{c: votes[:, j] for j, c in enumerate(CHOICES)},
        }
    )
    return ProtocolTable.from_frame(frame, profile="plain", choices=CHOICES, levels=["region"])


def _compare(table: ProtocolTable, official: ProtocolTable, seed: int, n: int = 48):  # type: ignore[no-untyped-def]
    sim = simulate_exitpoll_on(
        table, n_sampled=n, min_stratum=5, min_per_stratum=3, per_station=40, rng=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaylauWarning)
        est = estimate_exitpoll(sim.interviews, sim.frame, tally=sim.tally)
        sub = estimate_by_stratum(sim.interviews, sim.frame, tally=sim.tally)
    return compare_exit_poll(est, OfficialResults.from_table(official), by_stratum=sub, rng=seed)


def test_honest_polls_rarely_flag_a_region() -> None:
    table = _population(1)
    draws = 60
    alarms = []
    for seed in range(draws):
        res = _compare(table, table, seed)
        f = res.strata_finding
        assert f is not None and f.kind == "test"
        assert f.correction == "Holm over 4 strata tested"
        assert EXITPOLL_NULL in f.caveats
        alarms.append(f.alarm)
    # Binomial(60, 0.05): 99% band of the rate [0, 0.133] (Holm: at most the nominal rate)
    assert np.mean(alarms) <= binomial_band(0.05, draws)[1]


def test_a_padded_region_is_found() -> None:
    table = _population(2)
    votes = table.frame.select(CHOICES).to_numpy()
    north = (table.frame["region"] == "N").to_numpy()
    padded = votes.copy()
    padded[north] = fabricate(votes[north], 0, 0.20)
    official = ProtocolTable.from_frame(
        table.frame.with_columns([pl.Series(c, padded[:, j]) for j, c in enumerate(CHOICES)]),
        profile="plain",
        choices=CHOICES,
        levels=["region"],
    )
    found = []
    for seed in range(6):
        res = _compare(table, official, seed, n=100)
        assert res.strata_finding is not None
        found.append(res.strata_finding.alarm and res.strata_adjusted["N"] < 0.05)
    # 25 stations of a region whose two kinds of station differ by 45 points: the standard
    # error of the region's share is about 4 points, the padding 20 (about 5 standard errors)
    assert sum(found) >= 5


def test_a_region_with_one_report_is_not_tested() -> None:
    table = _population(3)
    sim = simulate_exitpoll_on(
        table, n_sampled=48, min_stratum=5, min_per_stratum=3, per_station=40, rng=4
    )
    east = sim.frame.filter(pl.col("sampled") & (pl.col("stratum") == "E"))["station"]
    drop = east.to_list()[1:]  # one report left in region E (fewer than the 4 choices)
    iv = dataclasses.replace(
        sim.interviews, data=sim.interviews.data.filter(~pl.col("station").is_in(drop))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaylauWarning)
        est = estimate_exitpoll(iv, sim.frame, tally=sim.tally)
        sub = estimate_by_stratum(iv, sim.frame, tally=sim.tally)
    res = compare_exit_poll(est, OfficialResults.from_table(table), by_stratum=sub)
    assert "E" in res.strata_untested and "E" not in res.strata_adjusted
    assert res.strata_finding is not None
    assert "1 of 4 strata not tested (too few reports)" in res.strata_finding.caveats


def test_redrawn_polls_of_honest_and_impossible_reports() -> None:
    pop = np.array([[300.0, 300.0]] * 10 + [[500.0, 100.0]] * 10)
    rule = ("interval", 10.0, 0.0)
    honest = redraw_exitpoll_test(
        [[31.0, 29.0], [49.0, 11.0]], [10.0, 10.0], pop, rule=rule, response=1.0, rng=3
    )
    assert honest > 0.05
    # every interview for B where no station gives B more than half: rejected
    wrong = redraw_exitpoll_test(
        [[5.0, 55.0], [4.0, 56.0]], [10.0, 10.0], pop, rule=rule, response=1.0, rng=3
    )
    assert wrong < 0.01
    assert redraw_exitpoll_test([[0.0, 0.0]], [10.0], pop, rule=rule, response=1.0) == 1.0


@pytest.mark.parametrize(
    ("skip", "expected"),
    [([8, 8, 8], ("interval", 8.0, 0.0)), ([4, 8, 16], ("interval", 50.0, 1.0))],
)
def test_approach_rule_read_from_the_reports(skip, expected) -> None:  # type: ignore[no-untyped-def]
    # intervals set from turnout: 200/4 = 400/8 = 800/16 = 50 interviews aimed at
    assert approach_rule([200, 400, 800], [50, 50, 50], skip) == expected


def test_cli_prints_the_per_region_finding(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``saylau exitpoll --official <precinct file>``: the per-region finding with its
    correction, the regions tested and not tested and the measured rate, as the JSON has."""
    table = _population(5)
    sim = simulate_exitpoll_on(
        table, n_sampled=48, min_stratum=5, min_per_stratum=3, per_station=40, rng=6
    )
    table.frame.write_csv(tmp_path / "results.csv")
    sim.frame.write_csv(tmp_path / "frame.csv")
    sim.interviews.data.select("station", "band", pl.col("answer").alias("choice")).write_csv(
        tmp_path / "interviews.csv"
    )
    assert sim.tally is not None
    sim.tally.write_csv(tmp_path / "tally.csv")
    args = [
        "exitpoll", str(tmp_path / "interviews.csv"), "--frame", str(tmp_path / "frame.csv"),
        "--official", str(tmp_path / "results.csv"), "--tally", str(tmp_path / "tally.csv"),
    ]  # fmt: skip
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "per stratum: no alarm at 0.05 (Holm over 4 strata tested)" in text
    assert "all 4 strata tested" in text and "differential refusal" in text
    assert "false-alarm rate on clean elections" in text.split("per stratum:")[1]
    r = CliRunner().invoke(app, [*args, "--json"])
    strata = json.loads(r.stdout)["comparison"]["strata_finding"]
    assert strata["kind"] == "test" and strata["correction"] == "Holm over 4 strata tested"
    assert strata["false_alarm_rate"] is not None
