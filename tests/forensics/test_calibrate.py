"""Calibration: the family's alarm on clean elections, the real clean control, the Russian files.

Sources of the expected values: the binomial band of the false-alarm count is the 99.9th
percentile of Binomial(runs, level) (scipy), written out below; the exact interval is checked
against scipy's ``binomtest(...).proportion_ci(method="exact")``; the clean elections are
simulated with a known truth (no fraud) from the real elections' own structure; the Russian
integer-percentage excesses are published (Kobak, Shpilkin & Pshenichnikov 2016; 933.7 to
1,309.8 stations, null sd about 110-120, ``../shared/data/README.md``), far above Kobak's
99.9% threshold. The full 200-run study is in ``tests/results/calibration.json``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from saylau.forensics import excess_votes
from saylau.forensics.battery import _DEMOTED, REGISTRY, run_forensics
from saylau.forensics.calibrate import (
    POWER_SCENARIOS,
    calibrate,
    clopper_pearson,
    combine_calibrations,
    election_structure,
    stored_calibration,
    study_from_dict,
)
from saylau.forensics.simulate import simulate_election
from saylau.results import to_jsonable

from ..conftest import RESULTS, ROOT, shared_table

TESTS = tuple(s.name for s in REGISTRY if s.kind == "test")
LEVEL = 0.01
RUNS = 30
# 99.9th percentile of Binomial(30, 0.01) is 3 (P(X > 3) = 0.0002): a calibrated family alarm
# rings at most 3 times in 30 clean runs except once in 5,000 test sessions.
BAND = 3
assert stats.binom.ppf(0.999, RUNS, LEVEL) == BAND


@pytest.mark.parametrize(("k", "n"), [(0, 30), (3, 30), (7, 200), (200, 200)])
def test_clopper_pearson_matches_scipy(k: int, n: int) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high))


@pytest.mark.realdata
@pytest.mark.parametrize("source", [("russia", "2011.csv.zip"), ("poland-2020", "round1.csv.zip")])
def test_clean_elections_built_from_real_structure_raise_no_more_alarms_than_the_level(
    source: tuple[str, str],
) -> None:
    table = shared_table(*source)
    # a stratified subsample of 2,000 stations keeps the regional mix and the test fast
    s = election_structure(table, stations=2000, rng=0)
    alarms = 0
    for i in range(RUNS):
        sim = simulate_election(structure=s, rng=1000 + i)
        rep = run_forensics(sim.table, seed=i, resamples=50, level=LEVEL, methods=TESTS)
        alarms += bool(rep.alarms)
    assert alarms <= BAND


@pytest.mark.realdata
def test_clean_polish_control_raises_no_alarm() -> None:
    table = shared_table("poland-2020", "round1.csv.zip")
    # only tests can alarm (screens and models never do: test_battery.py), so the family's
    # decision needs the test methods alone; the CLI check runs the whole battery
    rep = run_forensics(table, seed=0, level=LEVEL, methods=TESTS)
    assert rep.alarms == ()
    out = rep.to_dict()
    assert out["alarms"] == []
    assert not any(out[m]["alarm"] for m in TESTS)


@pytest.mark.realdata
@pytest.mark.parametrize("year", ["2004", "2011", "2012", "2021"])
def test_integer_peak_alarm_is_raised_on_the_russian_files(year: str) -> None:
    table = shared_table("russia", f"{year}.csv.zip")
    rep = run_forensics(table, seed=0, level=LEVEL, methods=TESTS)
    assert "integer_peaks" in rep.alarms
    assert rep.finding("integer_peaks").alarm


@pytest.mark.realdata
def test_shpilkin_counts_regional_heterogeneity_as_anomalous() -> None:
    # Why the national estimate is no alarm: a clean election with Russia 2011's regional
    # turnout and share levels (no fraud at all) gets a large share of the leader's votes
    # counted as anomalous, many standard errors from 0; the alarm is the within-unit test,
    # which regional differences do not move.
    s = election_structure(shared_table("russia", "2011.csv.zip"), stations=6000, rng=0)
    res = excess_votes(simulate_election(structure=s, rng=3).table, by=None)
    assert res.share_of_leader > 0.1
    assert res.estimate > 3 * res.std_err
    assert res.sampling_pvalue < 1e-3
    # (6,000 of 95,000 stations leave about two per commission: the units are the regions)
    assert res.within is not None and res.within.level == "region"
    assert not res.finding.alarm


def test_calibrate_counts_alarms_and_power() -> None:
    real = simulate_election(stations=3000, regions=4, rng=2).table
    drawn = [s for s in POWER_SCENARIOS if s.name == "drawn protocols 5%"]
    res = calibrate({"toy": real}, runs=4, power_runs=3, scenarios=drawn, resamples=20, seed=5)
    clean = res.cell("toy", "clean")
    assert clean.runs == 4 and clean.clean
    assert clean.interval == pytest.approx(clopper_pearson(clean.family, 4))
    # 5% of 3,000 stations drawn to whole percentages: the integer test sees every one
    power = res.cell("toy", "drawn protocols 5%")
    assert power.alarms["integer_peaks"] == 3
    assert res.false_alarm_rates["family"] == clean.family / 4
    assert res.settings["seed"] == 5


def test_studies_joined_from_their_json_decide_as_the_battery_did() -> None:
    # the join recomputes each run's family alarm by Holm over the stored raw p-values: on a
    # study read back from its JSON it must reach the battery's own decisions, run by run
    real = simulate_election(stations=3000, regions=4, rng=2).table
    drawn = [s for s in POWER_SCENARIOS if s.name == "drawn protocols 1%"]
    res = calibrate({"toy": real}, runs=3, power_runs=3, scenarios=drawn, resamples=20, seed=7)
    back = study_from_dict(json.loads(json.dumps(to_jsonable(res))))
    joined = combine_calibrations(back)
    for a, b in zip(res.cells, joined.cells, strict=True):
        assert (a.family, dict(a.alarms)) == (b.family, dict(b.alarms))
        assert all(len(v) == a.runs for v in a.pvalues.values())
    assert joined.false_alarm_rates == pytest.approx(res.false_alarm_rates)
    other = calibrate({"toy": real}, runs=2, power_runs=0, resamples=20, seed=7)
    with pytest.raises(ValueError, match="settings"):
        combine_calibrations(res, other)
    with pytest.raises(ValueError, match="not test methods"):
        calibrate({"toy": real}, runs=1, power_runs=0, methods=["digits"])


def test_stored_table_is_the_measured_one_and_findings_cite_it() -> None:
    stored = stored_calibration()
    assert stored is not None
    source = json.loads((RESULTS / "calibration.json").read_text(encoding="utf-8"))
    shipped = json.loads((ROOT / "src/saylau/data/calibration.json").read_text(encoding="utf-8"))
    assert shipped == source
    for m in TESTS:
        assert stored.false_alarm_rate(m) == source["false_alarm_rates"][m]
    # every method that is still a test rang within the binomial band of the level over the
    # study's clean runs; a method of the study that rang beyond it is no longer a test (the
    # registry demotes it, with the reason)
    runs = source["clean_runs"]
    band = stats.binom.ppf(0.999, runs, LEVEL)
    for m in source["methods"]:
        rate = source["false_alarm_rates"][m]
        if m in TESTS:
            assert rate * runs <= band, (m, rate)
        elif rate * runs > band:
            assert m in _DEMOTED and "calibration study" in _DEMOTED[m]
    sim = simulate_election(stations=400, regions=2, rng=np.random.default_rng(1))
    f = run_forensics(sim.table, methods=("integer_peaks",)).finding("integer_peaks")
    assert f.false_alarm_rate == source["false_alarm_rates"]["integer_peaks"]
    assert "tests/results/calibration.json" in f.calibration


def test_structure_keeps_the_real_stations_and_regional_levels() -> None:
    # known truth: a synthetic "real" election whose regions differ; the clean copy must keep
    # every station's registered voters and each region's median turnout
    real = simulate_election(stations=4000, regions=4, rng=7).table
    s = election_structure(real)
    assert (s.registered == real.registered()).all()
    copy = simulate_election(structure=s, rng=8).table
    assert copy.levels == ("region",)
    for unit in np.unique(real.level_values("region")):
        a = real.level_values("region") == unit
        b = copy.level_values("region") == unit
        t_real = np.median(real.issued()[a] / real.registered()[a])
        t_copy = np.median(copy.issued()[b] / copy.registered()[b])
        assert abs(t_real - t_copy) < 0.02, unit
    sub = election_structure(real, stations=1000, rng=1)
    sizes = np.unique(sub.units["region"], return_counts=True)[1]
    full = np.unique(real.level_values("region"), return_counts=True)[1]
    # stratified: each region keeps its share of the stations (largest remainders)
    assert np.abs(sizes - 1000 * full / full.sum()).max() < 1


def test_structure_arrays_must_match() -> None:
    s = election_structure(simulate_election(stations=200, regions=2, rng=1).table)
    with pytest.raises(ValueError, match="one entry per station"):
        type(s)(
            registered=s.registered,
            turnout_logit=s.turnout_logit[:-1],
            turnout_sd=s.turnout_sd,
            share_logit=s.share_logit,
            share_sd=s.share_sd,
            units=s.units,
        )


def _readme_rows(study: dict) -> list[str]:
    """The README's calibration table rows, written from the stored study (the format only:
    every number comes from tests/results/calibration.json)."""
    methods = study["methods"]
    rows = []
    for c in study["cells"]:
        lo, hi = c["interval"]
        alarms = " | ".join(str(c["alarms"][m]) for m in methods)
        rows.append(
            f"| {c['source']} | {c['scenario']} | {c['runs']} | "
            f"{c['family']} ({100 * c['rate']:.1f}%; {100 * lo:.1f}–{100 * hi:.1f}%) | {alarms} |"
        )
    return rows


def test_readme_table_is_the_stored_study() -> None:
    """The README's forensics calibration and power table shows exactly the stored figures."""
    study = json.loads((RESULTS / "calibration.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    header = "| source | scenario | runs | any alarm (95% interval) | " + " | ".join(
        study["methods"]
    )
    assert header + " |" in readme
    block = readme.split(header + " |", 1)[1].split("\n\n", 1)[0].strip().splitlines()[1:]
    assert block == _readme_rows(study)
    rates = study["false_alarm_rates"]
    assert (
        f"Pooled over the {study['clean_runs']} clean runs" in readme
        and f"any alarm {round(rates['family'] * study['clean_runs'])} "
        f"({100 * rates['family']:.2f}%"
        in readme
    )
