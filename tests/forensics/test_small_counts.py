"""Tests of the small-count test's model-based nulls (binomial, beta-binomial), on simulations with
known truth; the default mixture null is tested in test_small_counts_mixture.py."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from saylau._exceptions import SaylauInputError, UnknownNameError
from saylau.domain.table import ProtocolTable
from saylau.forensics.small_counts import (
    _poisson_binomial_pmf,
    _tails,
    small_counts,
)

SHARES = {"Big": 0.55, "Mid": 0.30, "Minor": 0.116, "Small": 0.02, "Tiny": 0.003, "Micro": 0.001}


def _simulate(
    gen: np.random.Generator,
    *,
    commissions: int = 40,
    per: int = 30,
    drawn: dict[int, str] | None = None,
    spread: float = 0.0,
) -> ProtocolTable:
    """Stations with Multinomial votes at the commission's shares; some commissions hand-draw.

    ``drawn`` maps a commission index to a party whose count is overwritten by 1 or 2 in every
    station of that commission (the difference goes to "Big"), which is the truth to recover.
    ``spread`` > 0 makes station shares vary (Dirichlet) around the commission's: over-dispersion.
    """
    n = commissions * per
    valid = gen.integers(400, 2000, size=n)
    names = list(SHARES)
    base = np.array(list(SHARES.values()))
    votes = np.zeros((n, len(names)), dtype=np.int64)
    for s in range(n):
        p = base if spread == 0 else gen.dirichlet(base / spread)
        votes[s] = gen.multinomial(valid[s], p)
    tik = np.repeat([f"T{c:02d}" for c in range(commissions)], per)
    for c, party in (drawn or {}).items():
        rows = slice(c * per, (c + 1) * per)
        j = names.index(party)
        new = gen.integers(1, 3, size=per)
        votes[rows, 0] += votes[rows, j] - new
        votes[rows, j] = new
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(n)],
            "region": ["R"] * n,
            "tik": tik,
            "voters_on_list": valid * 2,
            "issued": valid,
            "invalid": np.zeros(n, dtype=np.int64),
            "valid": valid,
            **{name: votes[:, j] for j, name in enumerate(names)},
        }
    )
    return ProtocolTable.from_frame(frame, profile="plain", choices=names, levels=["region", "tik"])


def test_poisson_binomial_against_closed_forms() -> None:
    # equal probabilities: Binomial (closed form, scipy)
    p = np.full((1, 25), 0.13)
    x = np.array([4])
    assert _tails(p, x, upper=True)[0] == pytest.approx(stats.binom.sf(3, 25, 0.13), rel=1e-10)
    assert _tails(p, x, upper=False)[0] == pytest.approx(stats.binom.cdf(4, 25, 0.13), rel=1e-10)
    # unequal probabilities: brute-force enumeration of all 2^10 outcomes
    gen = np.random.default_rng(1)
    q = gen.uniform(0, 1, size=10)
    brute = np.zeros(11)
    for outcome in itertools.product([0, 1], repeat=10):
        o = np.array(outcome)
        brute[o.sum()] += np.prod(np.where(o == 1, q, 1 - q))
    assert _poisson_binomial_pmf(q[None])[0] == pytest.approx(brute, abs=1e-14)
    # far tails keep their relative precision (sums of positive terms only)
    tiny = np.full((1, 30), 0.01)
    assert _tails(tiny, np.array([12]), upper=True)[0] == pytest.approx(
        stats.binom.sf(11, 30, 0.01), rel=1e-8
    )


def test_hand_drawn_commissions_are_found() -> None:
    gen = np.random.default_rng(2016)
    # 1s and 2s written in place of the zeros of a party with ~1 vote per station (Micro) and
    # of a party with ~2-6 (Tiny): the truth to recover
    truth = {3: "Micro", 11: "Micro", 17: "Micro", 25: "Tiny", 38: "Micro"}
    table = _simulate(gen, drawn=truth)
    res = small_counts(table, by="tik", null="betabinomial")
    expected = {(f"R / T{c:02d}", party) for c, party in truth.items()}
    found = set(res.flagged)
    assert {e for e in expected if e[1] == "Micro"} <= found  # power where zeros are common
    assert len(found - expected) <= 1  # false discoveries within the 5% FDR
    cell = res.cell("R / T03", "Micro")
    assert cell.statistic == 30 and cell.observed[0] == 0
    assert cell.pvalue_excess < 1e-6 and cell.pvalue_zero_deficit < 1e-3
    assert cell.pvalue == max(cell.pvalue_excess, cell.pvalue_zero_deficit)
    # where zeros are rare anyway (Tiny: 2-6 votes expected), only the excess test sees it
    excess = small_counts(table, by="tik", null="betabinomial", pattern="excess")
    assert expected <= set(excess.flagged)


def test_few_special_stations_are_not_a_hand_drawn_pattern() -> None:
    gen = np.random.default_rng(4)
    table = _simulate(gen, commissions=20, per=30)
    frame = table.frame.with_columns(
        # three stations (a hospital, a prison, a convent) where "Mid" gets 1 or 2 of ~1,000
        Mid=pl.when(pl.col("station").is_in(["0", "1", "2"]))
        .then(pl.lit(1, dtype=pl.Int64))
        .otherwise(pl.col("Mid")),
    )
    t = ProtocolTable.from_frame(
        frame, profile="plain", choices=list(SHARES), levels=["region", "tik"]
    )
    assert ("R / T00", "Mid") not in small_counts(t).flagged  # no zeros were expected
    assert ("R / T00", "Mid") not in small_counts(t, null="betabinomial").flagged
    assert ("R / T00", "Mid") in small_counts(t, null="betabinomial", pattern="excess").flagged


def test_clean_elections_raise_no_more_alarms_than_nominal() -> None:
    gen = np.random.default_rng(7)
    any_flag = 0
    small_p = 0
    total = 0
    reps = 60
    for _ in range(reps):
        res = small_counts(_simulate(gen, commissions=30, per=25), by="tik", null="binomial")
        any_flag += bool(res.flagged)
        p = np.array([c.pvalue_excess for c in res.cells])
        small_p += int((p < 0.05).sum())
        total += p.size
    # BH controls the family-wise error under the global null at 5%: P(any flag) <= 0.05;
    # 60 clean elections: flags ~ Binomial(60, <= 0.05), at most 3 sd above its mean of 3
    assert any_flag <= reps * 0.05 + 3 * np.sqrt(reps * 0.05 * 0.95)
    # per-test level: the exact discrete test is conservative, so at most ~5% below 0.05
    assert small_p / total <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / total)


def test_overdispersion_needs_the_betabinomial_null() -> None:
    gen = np.random.default_rng(11)
    table = _simulate(gen, commissions=30, per=30, spread=0.02)
    binom = small_counts(table, by="tik", null="binomial", pattern="excess")
    beta = small_counts(table, by="tik", null="betabinomial", pattern="excess")
    p_beta = np.array([c.pvalue_excess for c in beta.cells])
    # the truth is clean: the beta-binomial null stays near its nominal level...
    assert (p_beta < 0.05).mean() <= 0.10
    assert len(binom.flagged) >= 5 > len(beta.flagged)  # the binomial null over-flags it
    assert all(c.rho >= 0 for c in beta.cells) and any(c.rho > 0 for c in beta.cells)


def test_declared_rules_bad_input_and_against_all() -> None:
    frame = pl.DataFrame(
        {
            "station": ["1", "2", "3", "4"],
            "tik": ["A", "A", "A", "B"],
            "voters_on_list": [100, 100, 100, 100],
            "issued": [50, 0, 60, 40],
            "invalid": [0, 0, 0, 0],
            "valid": [50, 0, 60, 40],
            "X": [45, 0, 58, 80],
            "Против всех": [5, 0, 2, None],
        }
    )
    t = ProtocolTable.from_frame(
        frame, profile="plain", choices=["X", "Против всех"], levels=["tik"]
    )
    res = small_counts(t, null="binomial")
    assert res.excluded == {"no_valid_ballots": 1, "missing_count": 1, "count_above_valid": 1}
    assert "Против всех" in res.choices
    assert res.cell("A", "Против всех").observed == (0, 0, 1)
    with pytest.raises(UnknownNameError):
        small_counts(t, by="oik")
    with pytest.raises(UnknownNameError):
        small_counts(t, choices=["Nobody"])
    with pytest.raises(SaylauInputError):
        small_counts(t, fdr=2.0)
    assert res.to_frame().height == res.ntests
    assert "binomial" in res.to_dict()["caveat"]


def test_null_probabilities_match_scipy() -> None:
    # the closed forms of P(0), P(1), P(2) against scipy's binomial and beta-binomial pmfs
    from saylau.forensics.small_counts import _null_probabilities

    gen = np.random.default_rng(5)
    n = gen.integers(0, 3000, 4000)
    p = gen.uniform(0, 0.02, 4000)
    p[:10], p[10:20] = 0.0, 1.0
    rho = np.where(gen.random(4000) < 0.5, gen.uniform(0, 0.05, 4000), 0.0)
    k = np.arange(3)[None, :]
    ref = stats.binom.pmf(k, n[:, None], p[:, None])
    bb = (rho > 0) & (p > 0) & (p < 1)
    a = p[bb] * (1 - rho[bb]) / rho[bb]
    b = (1 - p[bb]) * (1 - rho[bb]) / rho[bb]
    ref[bb] = stats.betabinom.pmf(k, n[bb][:, None], a[:, None], b[:, None])
    assert np.allclose(_null_probabilities(n, p, rho), np.nan_to_num(ref), rtol=1e-8, atol=1e-14)


def test_alarm_is_calibrated_on_clean_overdispersed_elections() -> None:
    # simulation, known truth (no drawing): support varies between stations (Dirichlet), the
    # case the binomial null over-flags; the default beta-binomial null's family-wise alarm
    # (Bonferroni over the cells, level 0.01) is raised in at most 0.01 of 40 elections plus
    # 3 binomial sds (i.e. at most 1), and drawn commissions raise it
    gen = np.random.default_rng(21)
    alarms = sum(
        small_counts(
            _simulate(gen, commissions=30, per=30, spread=0.02), by="tik", null="betabinomial"
        ).finding.alarm
        for _ in range(40)
    )
    assert alarms <= 40 * 0.01 + 3 * np.sqrt(40 * 0.01 * 0.99)
    drawn_table = _simulate(np.random.default_rng(21), drawn={3: "Micro", 9: "Micro"})
    drawn = small_counts(drawn_table, by="tik", null="betabinomial")
    assert drawn.finding.alarm and drawn.finding.pvalue is not None
    assert "Bonferroni over" in drawn.finding.correction


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_poisson_binomial_is_a_distribution_with_the_right_mean(ps: list[float]) -> None:
    p = np.array(ps)
    pmf = _poisson_binomial_pmf(p[None])[0]
    assert pmf.min() >= 0
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    k = np.arange(pmf.size)
    assert (k * pmf).sum() == pytest.approx(p.sum(), abs=1e-9)  # E X = sum p_i
    assert ((k - p.sum()) ** 2 * pmf).sum() == pytest.approx((p * (1 - p)).sum(), abs=1e-9)


def test_fdr_bh_is_statsmodels_to_the_bit():
    """saylau.forensics._fdr.fdr_bh against statsmodels' multipletests(method="fdr_bh") (the
    reference implementation): the same rejections and the same q-values exactly, with ties,
    zeros and ones among the p-values."""
    from statsmodels.stats.multitest import multipletests

    from saylau.forensics._fdr import fdr_bh

    g = np.random.default_rng(8)
    for size in (1, 2, 17, 5000):
        p = g.uniform(size=size) ** 3
        p[: size // 4] = np.round(p[: size // 4], 2)  # ties
        if size > 3:
            p[0], p[1] = 0.0, 1.0
        for alpha in (0.05, 0.2):
            ref_reject, ref_q, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
            reject, q = fdr_bh(p, alpha=alpha)
            assert np.array_equal(reject, ref_reject)
            assert np.array_equal(q, ref_q)
