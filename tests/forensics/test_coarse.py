"""Coarse vote shares (Rozenas 2017, R package spikes).

Sources of expected numbers: SciPy (Gaussian KDE, beta-binomial likelihood maximised by a
general optimiser), pandas' ``cut`` (the same right-closed binning as R's ``cut``), closed forms
(a beta-binomial mixture's mean), and simulations with a known truth: clean elections (the test
must raise no more alarms than its 5 % level allows) and elections with drawn (rounded)
protocols (it must raise them).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import optimize, stats

from saylau._exceptions import EmptyInputError, SaylauWarning, UnknownNameError
from saylau.forensics.betabinom import fit_beta_binomial_mixture
from saylau.forensics.coarse import (
    COARSE_FRACTIONS,
    _share_bins,
    _share_bins_fast,
    coarse_shares,
    r_density,
)
from saylau.forensics.simulate import simulate_election


# ------------------------------------------------------------------------------ pieces
def test_r_density_matches_gaussian_kde_for_wide_bandwidth() -> None:
    # with a bandwidth spanning many binning nodes, R's binned density is the exact KDE up to
    # the linear-binning error (~ (node spacing / bw)^2 / 8 relative)
    g = np.random.default_rng(0)
    x = g.beta(6, 5, 30_000)
    bw = 0.02
    ours = r_density(x, bw=bw)
    grid = np.linspace(0, 1, 1001)
    ref = gaussian_kde_fixed(x, bw, grid)
    assert np.max(np.abs(ours - ref)) < 2e-3 * ref.max()


def gaussian_kde_fixed(x: np.ndarray, bw: float, grid: np.ndarray) -> np.ndarray:
    kde = stats.gaussian_kde(x, bw_method=bw / np.std(x, ddof=1))
    return kde(grid)


def test_r_density_narrow_bandwidth_is_interpolated_binning() -> None:
    # bw = 1e-4 (spikes) is a tenth of the node spacing (1.0008 / 1023): the kernel touches
    # no neighbouring node, so the "density" is the linear binning times dnorm(0, sd=bw),
    # interpolated, and integrates to dnorm(0, sd=bw) * spacing ~ 3.90, not 1 (R's quirk)
    g = np.random.default_rng(1)
    x = g.uniform(0.1, 0.9, 50_000)
    d = r_density(x)
    spacing = (1 + 8e-4) / 1023
    expected = stats.norm.pdf(0, scale=1e-4) * spacing
    assert np.trapezoid(d, np.linspace(0, 1, 1001)) == pytest.approx(expected, rel=0.01)
    one = r_density(np.array([0.5]))
    # a single point at 0.5: linear weights on the two nodes around it, interpolated
    assert one.max() == pytest.approx(stats.norm.pdf(0, scale=1e-4), rel=0.6)
    assert np.count_nonzero(one > 1e-6) <= 3


def test_share_bins_match_pandas_cut() -> None:
    breaks = -0.0005 + np.arange(1002) * 0.001
    g = np.random.default_rng(2)
    n = g.integers(1, 3000, 20_000)
    v = g.integers(0, n + 1)
    y = np.concatenate([v / n, [0.0, 1.0, 0.0015, 3 / 2000, 0.5, 1 / 3]])
    ref = np.asarray(pd.cut(y, breaks, right=True, include_lowest=True, labels=False), np.int64)
    assert np.array_equal(_share_bins(y, breaks), ref)
    assert np.array_equal(_share_bins_fast(y, breaks), ref)
    # every fraction v / t with t <= 400 (many on the breaks themselves)
    t = np.repeat(np.arange(1, 401), np.arange(2, 402))
    v = np.concatenate([np.arange(k + 1) for k in range(1, 401)])
    y = v / t
    ref = np.asarray(pd.cut(y, breaks, right=True, include_lowest=True, labels=False), np.int64)
    assert np.array_equal(_share_bins_fast(y, breaks), ref)


def test_one_component_fit_is_the_beta_binomial_mle() -> None:
    g = np.random.default_rng(3)
    n = g.integers(50, 1500, 4000)
    y = g.binomial(n, g.beta(12.0, 8.0, 4000))
    fit = fit_beta_binomial_mixture(y, n, max_components=1)

    def nll(p: np.ndarray) -> float:
        return -float(stats.betabinom.logpmf(y, n, np.exp(p[0]), np.exp(p[1])).sum())

    ref = optimize.minimize(
        nll,
        np.log([5.0, 5.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 4000},
    )
    assert fit.alpha[0] == pytest.approx(np.exp(ref.x[0]), rel=1e-3)
    assert fit.beta[0] == pytest.approx(np.exp(ref.x[1]), rel=1e-3)
    assert fit.loglik == pytest.approx(-ref.fun, abs=1e-3)


def test_mixture_finds_two_groups() -> None:
    g = np.random.default_rng(4)
    n = g.integers(300, 2500, 6000)
    p = np.where(g.random(6000) < 0.3, g.beta(80, 20, 6000), g.beta(30, 50, 6000))
    fit = fit_beta_binomial_mixture(n * 0 + g.binomial(n, p), n)
    assert fit.components >= 2
    mean = float(fit.weight @ (fit.alpha / (fit.alpha + fit.beta)))
    assert mean == pytest.approx(0.3 * 0.8 + 0.7 * 0.375, abs=0.01)


def test_coarse_fractions_listed() -> None:
    values = {float(f) for f in COARSE_FRACTIONS}
    assert {0.5, 1 / 3, 2 / 3, 0.25, 0.75, 0.6, 1.0} <= values
    assert Fraction(1, 2) in COARSE_FRACTIONS


# ------------------------------------------------------------------------------ the test
def test_false_alarm_rate_on_clean_elections() -> None:
    # 30 clean elections (simulation, known truth: no fraud): at the 5 % level the number of
    # p < 0.05 is Binomial(30, 0.05) when the test holds its level (mean 1.5, sd 1.2); more
    # than 3 sd above, 5, means it does not
    alarms = 0
    reps = 30
    for seed in range(reps):
        sim = simulate_election(stations=1200, rng=100 + seed)
        res = coarse_shares(sim.table, resamples=200, rng=seed)
        alarms += res.pvalue < 0.05
        assert 0.0 <= res.fraud_pct <= 100.0 and 0 < res.pvalue <= 1
    assert alarms <= reps * 0.05 + 3 * np.sqrt(reps * 0.05 * 0.95)


def test_power_on_drawn_protocols() -> None:
    # 10 % of the stations with integer-percentage turnout and leader share (drawn protocols)
    hits = 0
    for seed in range(5):
        sim = simulate_election(stations=5000, rounded_share=0.1, rng=200 + seed)
        res = coarse_shares(sim.table, resamples=200, rng=seed)
        hits += res.significant
        assert res.fraud_pct > res.null_mean
    assert hits >= 4


def test_coarse_fraction_flagged_when_drawn_at_multiples_of_five() -> None:
    sim = simulate_election(stations=4000, rounded_share=0.1, round_to=0.05, rng=5)
    res = coarse_shares(sim.table, resamples=200, rng=1)
    assert res.significant
    half = next(c for c in res.coarse if c["fraction"] == "1/2")
    assert half["observed_pct"] > half["expected_pct"]
    assert any(abs(x - round(x * 20) / 20) < 1e-9 for x in res.flagged)


def test_fast_draws_agree_with_exact_draws() -> None:
    # the discretised-normal shortcut against the reference two-stage draws everywhere
    sim = simulate_election(stations=2000, rounded_share=0.05, rng=6)
    fast = coarse_shares(sim.table, resamples=150, rng=2)
    exact = coarse_shares(sim.table, resamples=150, rng=2, exact_below=math.inf)
    assert exact.exact_stations == exact.nobs
    assert fast.exact_stations < fast.nobs
    # the statistic itself moves by a few tenths between any two random streams (the envelope
    # of 150 resamples is noisy), so the comparison is on its null distribution and on the
    # resampled shares of stations at the coarse fractions
    assert fast.null_mean == pytest.approx(exact.null_mean, abs=0.2)
    assert fast.null_q95 == pytest.approx(exact.null_q95, abs=0.5)
    for a, b in zip(fast.coarse, exact.coarse, strict=True):
        assert a["expected_pct"] == pytest.approx(b["expected_pct"], abs=0.03)


def test_pvalue_moves_across_seeds_by_less_than_its_stated_error() -> None:
    # the stated Monte Carlo error is three sds: eight seeds (default 1,000 resamples) stay
    # within it of their mean
    sim = simulate_election(stations=2000, rng=11)
    runs = [coarse_shares(sim.table, rng=seed) for seed in range(8)]
    ps = np.array([r.pvalue for r in runs])
    assert all(abs(p - ps.mean()) <= r.pvalue_mc_error for p, r in zip(ps, runs, strict=True))
    assert all(r.finding.kind == "test" and r.finding.pvalue == r.pvalue for r in runs)
    assert all(math.isfinite(r.fraud_mc_sd) and r.fraud_mc_sd >= 0 for r in runs)


def test_resamples_are_added_only_while_the_decision_is_in_doubt() -> None:
    # sequential resampling: a p-value far from the level stops at the first 500 resamples;
    # with the level inside its Monte Carlo interval the resamples double (up to the cap)
    sim = simulate_election(stations=1500, rng=13)
    first = coarse_shares(sim.table, rng=4)
    assert first.resamples == 500 and abs(first.pvalue - first.finding.level) > (
        first.pvalue_mc_error
    )
    doubt = coarse_shares(sim.table, rng=4, level=first.pvalue, max_resamples=1000)
    assert doubt.resamples == 1000
    fixed = coarse_shares(sim.table, rng=4, level=first.pvalue, sequential=False)
    assert fixed.resamples == 500 and fixed.pvalue == first.pvalue


def test_stations_where_the_leader_got_no_vote_are_never_flagged() -> None:
    # 8 % of the stations give the leader no vote at all (a region where he is not on the
    # ballot, say): share 0 is not a drawn result for him and is never flagged or scored
    sim = simulate_election(stations=3000, rng=12)
    t = sim.table
    leader = t.leader()
    lead = t.frame.get_column(leader.id).to_numpy().copy()
    zero = np.random.default_rng(1).random(lead.size) < 0.08
    other = next(c for c in t.choices if c.id != leader.id)
    oth = t.frame.get_column(other.id).to_numpy() + np.where(zero, lead, 0)
    lead[zero] = 0
    frame = t.frame.with_columns(pl.Series(leader.id, lead), pl.Series(other.id, oth))
    zt = type(t)(**{**t.__dict__, "frame": frame})
    res = coarse_shares(zt, leader=leader.name, resamples=200, rng=2)
    assert res.zero_leader >= int(zero.sum() * 0.9)
    assert 0.0 not in res.flagged
    assert not res.finding.alarm


@pytest.mark.realdata
def test_poland_raises_no_alarm() -> None:
    from tests.conftest import shared_table

    table = shared_table("poland-2020", "round1.csv.zip")
    res = coarse_shares(table, leader="DUDA Andrzej Sebastian", rng=1)
    assert not res.significant
    assert res.nobs > 26_000 and res.leader == "Andrzej Sebastian DUDA"
    assert res.nobs + sum(res.excluded.values()) == table.stations


# ------------------------------------------------------------------------------ contract
def test_deterministic_json_and_row_order() -> None:
    sim = simulate_election(stations=800, rounded_share=0.1, rng=7)
    a = coarse_shares(sim.table, resamples=60, rng=3)
    b = coarse_shares(sim.table, resamples=60, rng=3)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    assert a.to_dict()["fraud_pct"] == a.fraud_pct
    # stations are put in a canonical order before resampling: the row order does not matter
    perm = np.random.default_rng(0).permutation(800)
    t = sim.table
    shuffled = type(t)(**{**t.__dict__, "frame": t.frame[perm]})
    c = coarse_shares(shuffled, resamples=60, rng=3)
    assert c.components == a.components and c.nobs == a.nobs
    assert c.fraud_pct == pytest.approx(a.fraud_pct, abs=1e-9)
    assert c.pvalue == a.pvalue


def test_bad_input_and_exclusions() -> None:
    sim = simulate_election(stations=40, rng=8)
    with pytest.raises(UnknownNameError):
        coarse_shares(sim.table, leader="Nobody", resamples=10)
    with pytest.raises(EmptyInputError):
        coarse_shares(sim.table.filter(np.zeros(40, dtype=bool)), resamples=10)
    with pytest.warns(SaylauWarning, match="low power"):
        res = coarse_shares(sim.table, resamples=10, rng=1)
    assert res.excluded["no_ballots_cast"] == 0
    assert res.nobs + res.excluded["registered_below_min"] == 40


def test_exact_turnout_table_is_the_beta_binomial_mixture() -> None:
    # the inverse-CDF table of the exact path against scipy's beta-binomial pmf: each station's
    # posterior predictive is Σ_k resp_k BetaBinomial(n, y + alpha_k, n - y + beta_k)
    from saylau.forensics.betabinom import BetaBinomialMixture
    from saylau.forensics.coarse import _pmf_table, _stage, _table_draw

    fit = BetaBinomialMixture(
        alpha=np.array([2.0, 30.0]),
        beta=np.array([3.0, 10.0]),
        weight=np.array([0.4, 0.6]),
        loglik=0.0,
        iterations=0,
    )
    y, n = np.array([5, 40, 99]), np.array([10, 60, 100])
    stage = _stage(fit, y, n)
    table = _pmf_table(stage, slice(0, 3), n, fit)
    resp = fit.responsibilities(y, n)
    start = 0
    for i in range(3):
        end = int(table.ends[i])
        values = table.values[start : end + 1].astype(np.int64)
        pmf = np.diff(np.concatenate([[i], table.keys[start : end + 1]]))
        ref = sum(
            resp[i, k]
            * stats.betabinom.pmf(values, n[i], y[i] + fit.alpha[k], n[i] - y[i] + fit.beta[k])
            for k in range(2)
        )
        assert np.allclose(pmf, ref, rtol=1e-9, atol=1e-14)
        start = end + 1
    draws = _table_draw(table, 20_000, np.random.default_rng(0))
    for i in range(3):
        mean = sum(
            resp[i, k] * n[i] * (y[i] + fit.alpha[k]) / (n[i] + fit.alpha[k] + fit.beta[k])
            for k in range(2)
        )
        assert draws[:, i].mean() == pytest.approx(mean, abs=4 * draws[:, i].std() / np.sqrt(2e4))
