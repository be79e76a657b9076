"""Integer-percentage test: exact null against brute force, the published excesses, simulations."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from saylau._exceptions import EmptyInputError, UnknownNameError
from saylau.domain.table import ProtocolTable
from saylau.forensics.integer_peaks import (
    integer_peaks,
    integer_probability,
    is_integer_percentage,
    poisson_binomial_sf,
)
from saylau.forensics.simulate import simulate_election

PUBLISHED = json.loads(
    (Path(__file__).resolve().parents[1] / "results" / "forensics_published.json").read_text()
)


def _table(reg, iss, lead, other, region=None) -> ProtocolTable:
    n = len(reg)
    cols = {
        "station": [str(i) for i in range(n)],
        "voters_on_list": np.asarray(reg, dtype=np.int64),
        "issued": np.asarray(iss, dtype=np.int64),
        "invalid": np.zeros(n, dtype=np.int64),
        "valid": np.asarray(lead, dtype=np.int64) + np.asarray(other, dtype=np.int64),
        "A": np.asarray(lead, dtype=np.int64),
        "B": np.asarray(other, dtype=np.int64),
    }
    levels: list[str] = []
    if region is not None:
        cols["region"] = list(region)
        levels = ["region"]
    return ProtocolTable.from_frame(
        pl.DataFrame(cols), profile="plain", choices=["A", "B"], levels=levels
    )


def _is_integer_fraction(k: int, n: int, tol: Fraction = Fraction(1, 20)) -> bool:
    x = Fraction(100 * k, n)
    return abs(x - round(x)) <= tol


# ---------------------------------------------------------------- exact building blocks


def test_integer_membership_matches_rational_arithmetic() -> None:
    gen = np.random.default_rng(3)
    n = gen.integers(1, 5000, 3000)
    k = gen.integers(0, n + 1)
    got = is_integer_percentage(k, n)
    want = [_is_integer_fraction(int(a), int(b)) for a, b in zip(k, n, strict=True)]
    assert got.tolist() == want
    # the window is inclusive: 100 * 201 / 2000 = 10.05 is within 0.05 of 10
    assert is_integer_percentage(np.array([201, 3]), np.array([2000, 7])).tolist() == [True, False]


@pytest.mark.parametrize(
    ("n", "k"),
    [(100, 0), (100, 99), (150, 37), (999, 500), (2000, 1234), (2917, 2600), (40_000, 21_000)],
)
def test_integer_probability_equals_brute_force_binomial_sum(n: int, k: int) -> None:
    ks = np.arange(n + 1)
    mask = is_integer_percentage(ks, np.full(n + 1, n))
    want = float(stats.binom.pmf(ks, n, k / n)[mask].sum())
    got = float(integer_probability(np.array([n]), np.array([k]))[0])
    assert got == pytest.approx(want, abs=1e-11)


def test_integer_probability_vectorised_equals_one_by_one() -> None:
    gen = np.random.default_rng(5)
    n = gen.integers(100, 3000, 50)
    k = gen.binomial(n, gen.uniform(0, 1, 50))
    together = integer_probability(n, k)
    for i in range(50):
        ks = np.arange(n[i] + 1)
        mask = is_integer_percentage(ks, np.full(n[i] + 1, n[i]))
        assert together[i] == pytest.approx(
            stats.binom.pmf(ks, n[i], k[i] / n[i])[mask].sum(), abs=1e-11
        )


def _poisson_binomial_exact(p: np.ndarray) -> np.ndarray:
    pmf = np.zeros(len(p) + 1)
    pmf[0] = 1.0
    for i, pi in enumerate(p):
        pmf[1 : i + 2] = pmf[1 : i + 2] * (1 - pi) + pmf[: i + 1] * pi
        pmf[0] *= 1 - pi
    return pmf


def test_refined_normal_approximation_against_exact_poisson_binomial() -> None:
    gen = np.random.default_rng(11)
    p = gen.uniform(0.02, 0.35, 3000)  # the range of integer probabilities of real stations
    pmf = _poisson_binomial_exact(p)
    sf_exact = np.cumsum(pmf[::-1])[::-1]
    q = p * (1 - p)
    mean, var, third = p.sum(), q.sum(), (q * (1 - 2 * p)).sum()
    for z in (1.0, 2.0, 3.0, 3.5):
        x = math.ceil(mean + z * math.sqrt(var))
        approx = poisson_binomial_sf(float(x), mean, var, third)
        assert approx == pytest.approx(sf_exact[x], rel=0.03, abs=2e-5)


# ---------------------------------------------------------------- the test on tables


def test_hand_table_excess_is_observed_minus_exact_expectation() -> None:
    reg = [200, 1000, 1500, 120, 2000]
    iss = [100, 371, 900, 61, 1001]  # 50.00%, 37.10%, 60.00%, 50.83%, 50.05%
    lead = [51, 150, 450, 30, 500]
    other = [i - le for i, le in zip(iss, lead, strict=True)]
    r = integer_peaks(_table(reg, iss, lead, other), leader="A", by=None)
    obs_t = [_is_integer_fraction(i, n) for i, n in zip(iss, reg, strict=True)]
    obs_l = [_is_integer_fraction(le, i) for le, i in zip(lead, iss, strict=True)]
    assert r.observed_turnout == sum(obs_t) == 3  # 50.00, 60.00 and 50.05 (inclusive)
    assert r.observed_leader == sum(obs_l)
    assert r.observed_either == sum(a or b for a, b in zip(obs_t, obs_l, strict=True))

    def brute(n: int, k: int) -> float:
        ks = np.arange(n + 1)
        m = np.array([_is_integer_fraction(int(x), n) for x in ks])
        return float(stats.binom.pmf(ks, n, k / n)[m].sum())

    pt = np.array([brute(n, k) for n, k in zip(reg, iss, strict=True)])
    pl_ = np.array([brute(n, k) for n, k in zip(iss, lead, strict=True)])
    pe = pt + pl_ - pt * pl_
    assert r.expected_turnout == pytest.approx(pt.sum(), abs=1e-9)
    assert r.expected_leader == pytest.approx(pl_.sum(), abs=1e-9)
    assert r.excess_stations == pytest.approx(r.observed_either - pe.sum(), abs=1e-9)
    assert r.null_sd == pytest.approx(math.sqrt((pe * (1 - pe)).sum()), abs=1e-9)
    assert r.z == pytest.approx(r.excess_stations / r.null_sd)


def test_inclusion_rules_are_counted() -> None:
    reg = [50, 1000, 1000, 1000, 1000]
    iss = [30, 995, 600, 0, 500]
    lead = [10, 500, 598, 0, 250]
    other = [20, 495, 2, 0, 250]
    r = integer_peaks(_table(reg, iss, lead, other), leader="A", by=None)
    assert r.excluded == {
        "no_ballots_found": 1,
        "registered_below_min": 1,
        "turnout_above_max": 1,
        "leader_share_above_max": 1,
    }
    assert r.stations == 1


def test_regions_are_ranked_by_excess_and_sum_to_the_total() -> None:
    gen = np.random.default_rng(2)
    n = 3000
    reg = gen.integers(500, 2500, n)
    iss = gen.binomial(reg, 0.6)
    region = np.where(np.arange(n) < 1500, "north", "south")
    # the south draws 150 protocols at exactly 70% turnout
    drawn = np.arange(1500, 1650)
    reg[drawn], iss[drawn] = 1000, 700
    lead = gen.binomial(iss, 0.5)
    r = integer_peaks(_table(reg, iss, lead, iss - lead, region), leader="A")
    assert [x.region for x in r.by_region] == ["south", "north"]
    assert r.drivers == ("south",)
    assert sum(x.excess for x in r.by_region) == pytest.approx(r.excess_stations)
    assert sum(x.stations for x in r.by_region) == r.stations


def test_empty_and_bad_names_raise_clear_errors() -> None:
    empty = _table([], [], [], [])
    with pytest.raises(EmptyInputError):
        integer_peaks(empty)
    t = _table([1000], [600], [300], [300])
    with pytest.raises(UnknownNameError):
        integer_peaks(t, leader="nobody")
    small = _table([50, 60], [30, 30], [10, 10], [20, 20])
    with pytest.raises(EmptyInputError, match="inclusion rules"):
        integer_peaks(small)


# ---------------------------------------------------------------- simulations with known truth


def test_false_alarm_rate_on_clean_simulated_elections_is_near_nominal() -> None:
    from saylau.forensics.simulate import simulate_election

    z = []
    reps = 200
    for seed in range(reps):
        sim = simulate_election(stations=2000, regions=5, rng=seed)
        z.append(integer_peaks(sim.table, by=None).z)
    z_arr = np.asarray(z)
    # under the null z ~ N(0, 1): the mean is within 3/sqrt(200) ~ 0.21 of 0, and the sample
    # sd within 3/sqrt(2 * 200) ~ 0.15 of 1
    assert abs(z_arr.mean()) < 3 / np.sqrt(reps)
    assert abs(z_arr.std(ddof=1) - 1) < 3 / np.sqrt(2 * reps)
    # one-sided 5% test: false alarms ~ Binomial(200, .05): mean 10, sd 3.1; 3 sd above is 19
    alarms = int((z_arr > stats.norm.isf(0.05)).sum())
    assert alarms <= reps * 0.05 + 3 * np.sqrt(reps * 0.05 * 0.95)


def test_power_on_simulated_elections_with_drawn_protocols() -> None:
    from saylau.forensics.simulate import simulate_election

    hits = 0
    for seed in range(10):
        sim = simulate_election(stations=3000, regions=5, rounded_share=0.08, rng=100 + seed)
        r = integer_peaks(sim.table, by=None)
        hits += r.pvalue < 0.01
        # the excess is at most the number of drawn protocols (each adds one integer station)
        assert r.excess_stations < sim.truth.drawn + 4 * r.null_sd
    assert hits >= 9


# ---------------------------------------------------------------- real data (published values)


@pytest.fixture(scope="module")
def russia() -> dict[str, ProtocolTable]:
    from tests.conftest import shared_table

    return {y: shared_table("russia", f"{y}.csv.zip") for y in ("2004", "2011", "2012", "2021")}


@pytest.mark.realdata
@pytest.mark.parametrize("year", ["2004", "2011", "2012", "2021"])
def test_published_integer_excess(russia: dict[str, ProtocolTable], year: str) -> None:
    pub = PUBLISHED["russia"][year]
    r = integer_peaks(russia[year], leader=pub["leader"])
    assert abs(r.excess_stations - pub["integer_excess"]) <= 15
    # "null sd is about 110-120 stations on Russian elections" (data README)
    assert 105 <= r.null_sd <= 125
    assert r.alarm and r.pvalue < 1e-10
    assert r.finding.alarm and r.finding.kind == "test" and r.finding.level == 0.01
    assert r.excess_turnout > 0 and r.excess_leader > 0
    # per region: Holm over every region tested, stated in each finding
    assert r.units_tested == len(r.by_region) == len({x.region for x in r.by_region})
    for x in r.by_region:
        assert x.finding.correction == f"Holm over {r.units_tested} units"
        assert x.pvalue_holm >= x.pvalue and x.finding.alarm == (x.pvalue_holm < 0.01)
    # Cedar's integer-votes estimate: positive beyond its null error on every Russian file
    assert r.integer_votes > 3 * r.integer_votes_se > 0


@pytest.mark.realdata
def test_poland_2020_raises_no_alarm() -> None:
    from tests.conftest import shared_table

    poland = shared_table("poland-2020", "round1.csv.zip")
    pub = PUBLISHED["poland_2020_round1"]
    r = integer_peaks(poland, leader=pub["leader"])
    assert abs(r.z) <= pub["integer_z_abs_max"]
    assert not r.alarm and not r.finding.alarm
    assert not any(x.finding.alarm for x in r.by_region)
    # the integer-votes estimate shows no positive excess on the clean control
    assert r.integer_votes < 3 * r.integer_votes_se


def test_integer_votes_on_simulations_with_known_truth() -> None:
    # simulation, known truth: 20 % of the stations drawn, turnout and leader share raised to
    # the next multiple of 5 %; the votes the drawing added beyond the neighbours' share at the
    # stations that end integer are known from the clean twin (same seed, no drawing). The
    # estimate is conservative (a drawn station's weight is 1 - its chance of an integer share,
    # and drawn stations that miss an integer raise the neighbours' share): it lies between
    # half the truth and the truth; on the clean twin it is within 3 standard errors of 0.
    for seed in range(3):
        bad = simulate_election(stations=6000, rounded_share=0.2, round_to=0.05, rng=30 + seed)
        clean = simulate_election(stations=6000, rng=30 + seed)
        r = integer_peaks(bad.table, by=None)
        r0 = integer_peaks(clean.table, by=None)
        t, t0 = bad.table, clean.table
        lid = t.leader().id
        lb, lc = t.frame.get_column(lid).to_numpy(), t0.frame.get_column(lid).to_numpy()
        cb = (t.frame.get_column("valid") + t.frame.get_column("invalid")).to_numpy()
        cc = (t0.frame.get_column("valid") + t0.frame.get_column("invalid")).to_numpy()
        reg = t.frame.get_column("voters_on_list").to_numpy()
        integer = is_integer_percentage(lb, cb) & (reg >= 100)
        truth = float(((lb - lc) - (cb - cc) * (lc.sum() / cc.sum()))[integer].sum())
        assert 0.5 * truth <= r.integer_votes <= truth
        assert r.integer_votes > 3 * r.integer_votes_se
        assert abs(r0.integer_votes) < 3 * r0.integer_votes_se


def test_exact_null_matches_kobaks_monte_carlo() -> None:
    """The published procedure: redraw every station's counts from its binomials and count."""
    gen = np.random.default_rng(8)
    n = 800
    reg = gen.integers(100, 3000, n)
    iss = gen.binomial(reg, gen.uniform(0.3, 0.9, n))
    lead = gen.binomial(iss, gen.uniform(0.2, 0.8, n))
    keep = (iss > 0) & (iss <= 0.99 * reg) & (lead <= 0.99 * iss)
    reg, iss, lead = reg[keep], iss[keep], lead[keep]
    r = integer_peaks(_table(reg, iss, lead, iss - lead), leader="A", by=None)
    draws = 4000
    t_sim = gen.binomial(reg, iss / reg, size=(draws, reg.size))
    l_sim = gen.binomial(iss, lead / iss, size=(draws, reg.size))
    either = is_integer_percentage(t_sim, np.broadcast_to(reg, t_sim.shape)) | (
        is_integer_percentage(l_sim, np.broadcast_to(iss, l_sim.shape))
    )
    counts = either.sum(axis=1)
    # Monte Carlo mean within 4 standard errors; sd within 5%
    assert counts.mean() == pytest.approx(r.expected_either, abs=4 * r.null_sd / np.sqrt(draws))
    assert counts.std() == pytest.approx(r.null_sd, rel=0.05)
    # the 99.9th percentile of the simulated null against the threshold (in excess units)
    q999 = np.quantile(counts, 0.999) - r.expected_either
    assert abs(q999 - r.threshold) <= 0.5 * r.null_sd
