"""The alarm of Shpilkin's method: the leader's share against turnout inside territorial units.

Sources of the expected values: the slope and its cluster-robust standard error are checked
against statsmodels' weighted least squares with ``cov_type="cluster"`` (an established
implementation); the false-alarm counts on clean elections against the 99.9th percentile of
Binomial(runs, level) (scipy), written out below; the clean and padded elections are simulated
with a known truth (no fraud; Klimek et al.'s extreme stuffing); the Russian files are the ones
whose excess votes are published (Shpilkin, Cedar: 7.9 to 14.9 million, ``../shared/data``'s
README), the Polish 2020 first round is the data README's clean control.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from saylau._exceptions import SaylauWarning
from saylau.domain.table import ProtocolTable
from saylau.forensics import excess_votes
from saylau.forensics.battery import run_forensics
from saylau.forensics.calibrate import election_structure
from saylau.forensics.shpilkin_within import finest_unit_level, within_unit_test
from saylau.forensics.simulate import FraudSpec, simulate_election

from ..conftest import shared_table
from .test_shpilkin import two_choice_table

LEVEL = 0.01
RUNS = 40
# 99.9th percentile of Binomial(40, 0.01) is 3: a calibrated alarm rings at most 3 times in 40
# clean elections except once in a thousand test sessions
BAND = 3
assert stats.binom.ppf(0.999, RUNS, LEVEL) == BAND


_table = two_choice_table


def test_slope_and_error_match_statsmodels_cluster_robust_wls() -> None:
    gen = np.random.default_rng(4)
    n, units = 3000, 60
    unit = gen.integers(0, units, n)
    reg = gen.integers(300, 2500, n)
    level_t = gen.normal(0.0, 0.4, units)[unit]
    p_t = 1 / (1 + np.exp(-(level_t + gen.normal(0, 0.3, n))))
    cast = gen.binomial(reg, p_t)
    # the share rises with turnout inside the units, and differs between them
    p_s = np.clip(0.2 + 0.4 * p_t + gen.normal(0, 0.1, units)[unit], 0.02, 0.98)
    lead = gen.binomial(cast, p_s)
    names = [f"u{u:02d}" for u in unit]
    res = within_unit_test(_table(reg, cast, lead, {"region": names}), leader="A")
    # statsmodels: WLS of the unit-demeaned share on the unit-demeaned turnout, weights = ballots,
    # clusters = units, without small-sample correction (saylau applies G / (G - 1) only)
    t, s, w = cast / reg, lead / cast, cast.astype(float)
    frame = pl.DataFrame({"u": unit, "t": t, "s": s, "w": w})
    means = frame.group_by("u").agg(
        ((pl.col("t") * pl.col("w")).sum() / pl.col("w").sum()).alias("tm"),
        ((pl.col("s") * pl.col("w")).sum() / pl.col("w").sum()).alias("sm"),
    )
    j = frame.join(means, on="u", how="left", maintain_order="left")
    dt = (j["t"] - j["tm"]).to_numpy()
    ds = (j["s"] - j["sm"]).to_numpy()
    fit = sm.WLS(ds, dt[:, None], weights=w).fit(
        cov_type="cluster", cov_kwds={"groups": unit, "use_correction": False}
    )
    assert res.units == units and res.stations == n and res.level == "region"
    assert res.slope == pytest.approx(fit.params[0], rel=1e-10)
    assert res.std_err == pytest.approx(fit.bse[0] * math.sqrt(units / (units - 1)), rel=1e-8)
    assert res.pvalue == pytest.approx(stats.norm.sf(res.slope / res.std_err))


def test_units_named_alike_in_two_regions_are_two_units_and_the_station_level_is_skipped() -> None:
    n = 12
    levels = {
        "region": ["a"] * 6 + ["b"] * 6,
        "tik": ["1", "1", "1", "2", "2", "2"] * 2,  # "1" in region a is not "1" in region b
        "uik": [str(i) for i in range(n)],  # one station per unit: not a unit level
    }
    reg = [1000] * n
    cast = [500, 600, 700] * 4
    lead = [200, 300, 400] * 4
    table = _table(reg, cast, lead, levels)
    assert finest_unit_level(table) == "tik"
    res = within_unit_test(table, leader="A")
    assert res.units == 4
    # inside each unit the share goes 0.4, 0.5, 0.571 as turnout goes 0.5, 0.6, 0.7: slope > 0
    assert res.slope > 0


def test_no_unit_level_means_no_alarm_and_says_why() -> None:
    gen = np.random.default_rng(2)
    reg = gen.integers(500, 1500, 500)
    cast = gen.binomial(reg, 0.6)
    table = _table(reg, cast, gen.binomial(cast, 0.5), {})
    r = excess_votes(table, leader="A", by=None)
    assert r.within is not None and not r.within.tested
    assert not r.finding.alarm and r.finding.pvalue is None
    assert any("no alarm possible" in c for c in r.finding.caveats)


@pytest.fixture(scope="module")
def toy_structure():  # type: ignore[no-untyped-def]
    # a "real" election of 4,000 stations in 8 regions, each with 20 commissions; its clean
    # copies keep every station's size, unit and regional level (known truth: no fraud)
    real = simulate_election(stations=4000, regions=8, rng=21).table
    tik = [f"T{i % 20}" for i in range(real.stations)]
    real = ProtocolTable.from_frame(
        real.frame.with_columns(pl.Series("tik", tik)),
        profile="plain",
        choices=[c.name for c in real.choices],
        levels=["region", "tik"],
    )
    return election_structure(real, rng=0)


def test_clean_elections_raise_the_alarm_at_about_the_level(toy_structure) -> None:  # type: ignore[no-untyped-def]
    p = []
    for i in range(RUNS):
        sim = simulate_election(structure=toy_structure, rng=100 + i).table
        res = excess_votes(sim, by=None)
        assert res.within is not None and res.within.level == "tik"
        p.append(res.pvalue)
    p_arr = np.asarray(p)
    assert (p_arr < LEVEL).sum() <= BAND
    # and the p-values are not piled at one end: at 0.5 the count lies in Binomial(40, 0.5)'s
    # 99.9% range (scipy: 9..31)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], RUNS, 0.5)
    assert lo <= (p_arr < 0.5).sum() <= hi


@pytest.mark.parametrize("share", [0.01, 0.05])
def test_padded_elections_raise_the_alarm(toy_structure, share: float) -> None:  # type: ignore[no-untyped-def]
    # ballot stuffing (Klimek et al.'s extreme mechanism) in 1% and 5% of the stations
    for i in range(3):
        bad = simulate_election(
            structure=toy_structure, fraud=FraudSpec("extreme", share), rng=200 + i
        ).table
        res = excess_votes(bad, by=None)
        assert res.finding.alarm and res.pvalue < LEVEL, (share, i, res.pvalue)
        assert res.within is not None and res.within.slope > 0


def test_units_that_mix_honest_populations_break_the_assumption() -> None:
    # the limit the caveat states, shown with a known truth: the synthetic regions mix urban
    # stations (lower turnout, lower leader share) with rural ones (higher both), honestly, and
    # each region is one unit: the share rises with turnout inside the units and the alarm rings
    # without any fraud. The caveat must say so.
    res = excess_votes(simulate_election(stations=3000, regions=8, rng=500).table, by=None)
    assert res.within is not None and res.within.level == "region"
    assert res.finding.alarm
    assert any("can raise it without fraud" in c for c in res.finding.caveats)


@pytest.mark.realdata
@pytest.mark.parametrize("year", ["2004", "2011", "2012", "2021"])
def test_alarm_is_raised_on_the_russian_files(year: str) -> None:
    table = shared_table("russia", f"{year}.csv.zip")
    rep = run_forensics(table, seed=0, level=LEVEL, methods=("integer_peaks", "excess_votes"))
    assert "excess_votes" in rep.alarms and "integer_peaks" in rep.alarms
    res = rep.outcome("excess_votes").result
    assert res.within.level == "tik" and res.within.units > 2500  # type: ignore[attr-defined]
    assert res.pvalue < 1e-6  # type: ignore[attr-defined]
    f = rep.finding("excess_votes")
    assert f.kind == "test" and f.alarm and "territorial units (tik)" in f.caveats[1]


@pytest.mark.realdata
def test_clean_polish_control_raises_no_alarm() -> None:
    table = shared_table("poland-2020", "round1.csv.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaylauWarning)
        res = excess_votes(table)
    assert res.within is not None and res.within.level == "commune"
    assert not res.finding.alarm and res.pvalue > 0.5
    rep = run_forensics(table, seed=0, level=LEVEL, methods=("integer_peaks", "excess_votes"))
    assert rep.alarms == ()


def test_readme_row_uses_the_words_of_the_output() -> None:
    import re

    from saylau.forensics.shpilkin import _CAVEAT, _WITHIN_CAVEAT

    from ..conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(r for r in readme.splitlines() if r.startswith("| Shpilkin excess votes | test |"))
    assert _CAVEAT in row
    # the printed caveat with its figures left as words (N, LEVEL, X, Z)
    for part in re.split(r"\{[^}]*\}", _WITHIN_CAVEAT):
        assert part in row, part
