"""Simulated exit polls with a known truth: coverage at the nominal rate when the design is
right, undercoverage when clustering is ignored, non-response weights, differential refusals."""

from __future__ import annotations

import numpy as np
import pytest

from saylau.survey.compare import compare_with_official
from saylau.survey.exitpoll import estimate_exitpoll
from saylau.survey.exitpoll_sim import fabricate, simulate_exitpoll

REPS = 500


@pytest.fixture(scope="module")
def coverage_study():
    """500 simulated elections: 1,200 stations in 4 strata of unequal size, 100 sampled by
    stratified SRS with equal allocation (unequal weights), κ = 20 (intra-station correlation
    1/21 ≈ 0.048 beyond the strata), every 8th voter, 25% refusals, 3% don't know."""
    cover = {"design": [], "srs": []}
    errors, alarms = [], []
    for child in np.random.SeedSequence(4242).spawn(REPS):
        sim = simulate_exitpoll(n_stations=1200, n_sampled=100, rng=np.random.default_rng(child))
        truth = np.array([sim.truth[c] for c in sim.choices])
        for key, cluster in (("design", True), ("srs", False)):
            est = estimate_exitpoll(sim.interviews, sim.frame, cluster=cluster)
            lo, hi = est.conf_int(0.05)
            cover[key].append((lo <= truth) & (truth <= hi))
            if cluster:
                errors.append(est.estimate - truth)
                alarms.append(compare_with_official(est, sim.official).joint.pvalue < 0.05)
    return {k: np.array(v) for k, v in cover.items()}, np.array(errors), np.array(alarms)


def test_intervals_cover_the_truth_at_the_nominal_rate(coverage_study):
    """Binomial(500, 0.95) has sd 0.0097: [0.925, 0.975] is ±2.5 sd per choice."""
    cover, _, _ = coverage_study
    rate = cover["design"].mean(axis=0)
    assert np.all((rate >= 0.925) & (rate <= 0.975)), rate
    assert 0.935 <= rate.mean() <= 0.965


def test_ignoring_clustering_undercovers(coverage_study):
    """With ~85 interviews per station and ρ ≈ 0.05 the design effect is about 1 + 84·0.05 ≈ 5
    (Kish), so SRS intervals are √5 ≈ 2.2 times too narrow: coverage near 2Φ(1.96/2.2) − 1 ≈ 0.63.
    """
    cover, _, _ = coverage_study
    rate = cover["srs"].mean(axis=0)
    assert np.all(rate < 0.85), rate


def test_no_material_bias(coverage_study):
    _, errors, _ = coverage_study
    mean = errors.mean(axis=0)
    se = errors.std(axis=0, ddof=1) / np.sqrt(len(errors))
    assert np.all(np.abs(mean) < 3.5 * se), (mean, se)
    assert np.all(np.abs(mean) < 0.002)


def test_false_alarm_rate_near_alpha_on_honest_results(coverage_study):
    _, _, alarms = coverage_study
    assert 0.025 <= alarms.mean() <= 0.08, alarms.mean()


def test_nonresponse_weights_repair_station_level_refusals():
    """Refusals higher where the leader is strong: the station × band weights remove the bias
    that the unweighted interview counts have."""
    weighted, raw = [], []
    for child in np.random.SeedSequence(77).spawn(120):
        sim = simulate_exitpoll(
            n_stations=1200,
            n_sampled=80,
            refusal=0.2,
            station_refusal=0.5,
            rng=np.random.default_rng(child),
        )
        lead = sim.choices.index(sim.leader)
        truth = sim.truth[sim.leader]
        weighted.append(estimate_exitpoll(sim.interviews, sim.frame).estimate[lead] - truth)
        raw.append(
            estimate_exitpoll(sim.interviews, sim.frame, nonresponse=False).estimate[lead] - truth
        )
    w, r = np.array(weighted), np.array(raw)
    se = w.std(ddof=1) / np.sqrt(len(w))
    assert abs(w.mean()) < 3 * se
    assert r.mean() < -5 * r.std(ddof=1) / np.sqrt(len(r))


def test_differential_refusals_bias_and_the_sensitivity_recovers_them():
    """Supporters of A refuse 35%, others 20%: the poll understates A, an honest official result
    is rejected far more often than α, and the reported response ratio λ is near the true
    0.65 / 0.80 = 0.8125 (the model of compare.py, with don't-knows counted as answers)."""
    refusal = {"A": 0.35, "B": 0.2, "C": 0.2, "Against all": 0.2}
    lams, rejected = [], []
    for child in np.random.SeedSequence(99).spawn(100):
        sim = simulate_exitpoll(
            n_stations=1200, n_sampled=100, refusal=refusal, rng=np.random.default_rng(child)
        )
        est = estimate_exitpoll(sim.interviews, sim.frame)
        res = compare_with_official(est, sim.official)
        rejected.append(res.joint.pvalue < 0.05)
        lams.append({s.choice: s.response_ratio for s in res.nonresponse}["A"])
        assert res.nonresponse_rate == pytest.approx(est.extra["nonresponse_rate"])
    assert np.mean(rejected) > 0.5
    assert np.mean(lams) == pytest.approx(0.65 / 0.8, abs=0.03)


def test_simulation_is_reproducible_and_consistent():
    a = simulate_exitpoll(n_stations=300, n_sampled=20, rng=11)
    b = simulate_exitpoll(n_stations=300, n_sampled=20, rng=11)
    assert a.truth == b.truth
    assert a.interviews.data.equals(b.interviews.data)
    assert sum(a.truth.values()) == pytest.approx(1.0)
    assert a.frame.height == 300 and int(a.frame["sampled"].sum()) == 20
    # every 8th voter: between floor(T/8) and ceil(T/8) approached per station
    counts = a.interviews.data.group_by("station").len()
    for st, n in counts.iter_rows():
        total = sum(a.votes_by_station[st].values())
        assert total // 8 <= n <= -(-total // 8)
    # the official result equals the truth when nothing is fabricated
    total = sum(a.official.values())
    assert {c: v / total for c, v in a.official.items()} == pytest.approx(a.truth)


def test_fabrication_adds_points_to_the_leader_and_keeps_totals():
    sim = simulate_exitpoll(n_stations=300, n_sampled=20, fabricated=0.08, rng=12)
    total = sum(sim.official.values())
    share = sim.official[sim.leader] / total
    assert share == pytest.approx(sim.truth[sim.leader] + 0.08, abs=1e-3)
    for st, votes in sim.votes_by_station.items():
        assert sum(votes.values()) == sum(sim.official_by_station[st].values())
    out = fabricate([[10, 0, 0]], 0, 0.5)
    assert out.tolist() == [[10, 0, 0]]  # nothing to move
