"""Comparison with the official result: Wald test, power on a fabricated result, false alarms
on an honest one, per-station findings and the differential non-response sensitivity."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from saylau._exceptions import DataFormatError, UnknownNameError
from saylau.survey.compare import compare_with_official, official_shares
from saylau.survey.estimates import ShareEstimates
from saylau.survey.exitpoll import estimate_exitpoll
from saylau.survey.exitpoll_sim import fabricate, simulate_exitpoll
from saylau.survey.official import read_official

RESULTS = Path(__file__).resolve().parents[1] / "results"
CLOSED = json.loads((RESULTS / "exitpoll_closed_forms.json").read_text(encoding="utf-8"))


def _est(p, cov, df=None, extra=None):
    return ShareEstimates(
        choices=tuple(f"c{i}" for i in range(len(p))) if len(p) != 3 else ("A", "B", "Против всех"),
        estimate=np.asarray(p, dtype=float),
        cov=np.asarray(cov, dtype=float),
        df=df,
        method="test",
        nobs=1000,
        n_psu=100,
        n_strata=1,
        extra=extra or {},
    )


def _multinomial_cov(p, n):
    p = np.asarray(p)
    return (np.diag(p) - np.outer(p, p)) / n


def test_generalised_inverse_wald_equals_drop_one_for_any_choice():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    est = ShareEstimates(
        ("a", "b", "c", "d"), p, _multinomial_cov(p, 400) * 2.5, None, "t", 1000, 100, 1
    )
    off = {"a": 0.55, "b": 0.27, "c": 0.13, "d": 0.05}
    res = compare_with_official(est, off, test="wald")
    d = p - np.array(list(off.values()))
    for drop in range(4):
        keep = [i for i in range(4) if i != drop]
        v = est.cov[np.ix_(keep, keep)]
        w = float(d[keep] @ np.linalg.solve(v, d[keep]))
        assert res.joint.statistic == pytest.approx(w, rel=1e-8)
    assert res.joint.df_num == 3
    assert res.joint.pvalue_chi2 == pytest.approx(stats.chi2.sf(res.joint.statistic, 3))


def test_f_adjustment_with_design_df():
    p = np.array([0.5, 0.3, 0.2])
    est = _est(p, _multinomial_cov(p, 300), df=30.0)
    res = compare_with_official(est, {"A": 0.45, "B": 0.33, "Против всех": 0.22}, test="wald")
    q, d = 2, 30.0
    f = res.joint.statistic * (d - q + 1) / (d * q)
    assert res.joint.f_statistic == pytest.approx(f)
    assert res.joint.pvalue == pytest.approx(stats.f.sf(f, q, d - q + 1))
    row = res.rows[0]
    assert row.statistic == pytest.approx((0.5 - 0.45) / math.sqrt(est.cov[0, 0]))
    assert row.pvalue == pytest.approx(2 * stats.t.sf(abs(row.statistic), 30.0))


def test_official_votes_and_names_are_matched():
    shares = official_shares({"a": 30, "Против всех": 10, "b": 60}, ("A", "B", "against all"))
    np.testing.assert_allclose(shares, [0.3, 0.6, 0.1])
    with pytest.raises(UnknownNameError, match="does not have"):
        official_shares({"A": 1, "Zorro": 2}, ("A", "B"))
    with pytest.raises(UnknownNameError, match="lacks"):
        official_shares({"A": 1}, ("A", "B"))


def test_read_official_csv(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("choice,share\nA,55%\nB,45\n", encoding="utf-8")
    assert read_official(path).totals == {"A": 55.0, "B": 45.0}
    path.write_text("choice,votes\nA,10\nB,-3\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="row 3, field votes"):
        read_official(path)
    path.write_text("label,votes\nA,10\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="choice,votes"):
        read_official(path)


def test_nonresponse_sensitivity_closed_form():
    ref = CLOSED["nonresponse_sensitivity"]
    p, o, rate = ref["p"], ref["o"], ref["R"]
    est = _est(
        [p, 1 - p - 0.05, 0.05],
        _multinomial_cov([p, 1 - p - 0.05, 0.05], 500),
        extra={"nonresponse_rate": rate},
    )
    res = compare_with_official(est, {"A": o, "B": 1 - o - 0.05, "Против всех": 0.05})
    sens = {s.choice: s for s in res.nonresponse}["A"]
    assert sens.response_ratio == pytest.approx(ref["lambda"])
    # forward check of the model: these refusal rates turn the official share into the poll's
    r_sup, r_oth = 1 - sens.refusal_rate_supporters, 1 - sens.refusal_rate_others
    assert o * r_sup / (o * r_sup + (1 - o) * r_oth) == pytest.approx(p)
    assert o * r_sup + (1 - o) * r_oth == pytest.approx(1 - rate)
    assert sens.feasible
    assert "refuse" in res.caveat and res.nonresponse[0].choice in res.caveat
    assert res.nonresponse_rate == rate


def test_by_stratum_rows_and_joint():
    p = np.array([0.5, 0.3, 0.2])
    est = _est(p, _multinomial_cov(p, 300), df=50.0)
    res = compare_with_official(
        est,
        {"A": 0.5, "B": 0.3, "Против всех": 0.2},
        by_stratum={"North": (est, {"A": 0.6, "B": 0.25, "Против всех": 0.15})},
    )
    assert [r.stratum for r in res.strata] == ["North"] * 3
    assert res.strata_joint["North"].pvalue < 0.01
    assert res.joint.pvalue == pytest.approx(1.0)


def test_station_copies_every_difference_is_a_finding():
    sim = simulate_exitpoll(n_stations=300, n_sampled=24, fabricated=0.08, rng=4)
    est = estimate_exitpoll(sim.interviews, sim.frame)
    pairs = {s: (sim.votes_by_station[s], sim.official_by_station[s]) for s in sim.votes_by_station}
    res = compare_with_official(est, sim.official, station_pairs=pairs)
    assert res.stations_compared == 24
    changed = {
        (s, c)
        for s in pairs
        for c in sim.choices
        if sim.votes_by_station[s][c] != sim.official_by_station[s][c]
    }
    assert {(f.station, f.choice) for f in res.stations} == changed
    assert res.flagged
    leader_rows = [f for f in res.stations if f.choice == sim.leader]
    assert all(f.difference > 0 for f in leader_rows)
    honest = {s: (v, v) for s, v in sim.votes_by_station.items()}
    assert compare_with_official(est, sim.official, station_pairs=honest).stations == ()


def test_station_interviews_mode_flags_a_station_that_disagrees():
    p = np.array([0.5, 0.3, 0.2])
    est = _est(p, _multinomial_cov(p, 300), df=50.0)
    pairs = {
        "1": ({"A": 50, "B": 30, "Против всех": 20}, {"A": 500, "B": 300, "Против всех": 200}),
        "2": ({"A": 20, "B": 60, "Против всех": 20}, {"A": 800, "B": 150, "Против всех": 50}),
    }
    res = compare_with_official(
        est,
        {"A": 0.5, "B": 0.3, "Против всех": 0.2},
        station_pairs=pairs,
        station_mode="interviews",
    )
    assert [f.station for f in res.stations] == ["2"]
    # Pearson chi-squared computed directly
    obs = np.array([20, 60, 20])
    exp = 100 * np.array([0.8, 0.15, 0.05])
    assert res.stations[0].pvalue == pytest.approx(stats.chi2.sf(((obs - exp) ** 2 / exp).sum(), 2))


def _study(reps: int, seed: int):
    ss = np.random.SeedSequence(seed)
    honest, fake = [], []
    for child in ss.spawn(reps):
        sim = simulate_exitpoll(n_stations=1200, n_sampled=100, rng=np.random.default_rng(child))
        est = estimate_exitpoll(sim.interviews, sim.frame)
        truth_votes = np.array([sim.official[c] for c in sim.choices])
        lead = sim.choices.index(sim.leader)
        forged = fabricate(truth_votes[None, :], lead, 0.08)[0]
        honest.append(compare_with_official(est, sim.official).joint.pvalue)
        fake.append(
            compare_with_official(est, dict(zip(sim.choices, forged, strict=True))).joint.pvalue
        )
    return np.array(honest), np.array(fake)


def test_power_on_a_fabricated_result_and_false_alarms_on_an_honest_one():
    """300 simulated polls (100 stations, ~85 interviews each, 25% refusals, κ = 20).

    False-alarm rate: binomial(300, 0.05) has sd 0.0126, so [0.02, 0.09] is ±2.4–3.2 sd.
    Power against +8 points to the leader must be at least 0.95.
    """
    honest, fake = _study(300, 20261125)
    alarm = float(np.mean(honest < 0.05))
    power = float(np.mean(fake < 0.05))
    assert 0.02 <= alarm <= 0.09, alarm
    assert power >= 0.95, power


def test_quick_count_caveat_speaks_of_stations_not_refusals():
    p = np.array([0.5, 0.3, 0.2])
    est = _est(p, _multinomial_cov(p, 300), df=50.0)  # no nonresponse_rate: not interviews
    res = compare_with_official(est, {"A": 0.6, "B": 0.25, "Против всех": 0.15})
    assert "stations that reported" in res.caveat
    assert res.nonresponse_rate is None
    assert res.nonresponse[0].refusal_rate_supporters is None
    # lambda for A: odds ratio of the estimate against the official share
    lam = {s.choice: s.response_ratio for s in res.nonresponse}["A"]
    assert lam == pytest.approx((0.5 / 0.5) / (0.6 / 0.4))


def test_a_choice_nobody_named_is_left_out_of_the_joint_test():
    p = np.array([0.6, 0.4, 0.0])
    cov = np.zeros((3, 3))
    cov[:2, :2] = 1e-4 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    est = _est(p, cov, df=40.0)
    res = compare_with_official(est, {"A": 0.594, "B": 0.396, "Против всех": 0.01}, test="wald")
    assert res.joint.excluded == ("Против всех",)
    # official renormalised over A and B: 0.6 / 0.4 exactly, so no difference at all
    assert res.joint.statistic == pytest.approx(0.0, abs=1e-12)
    assert res.joint.df_num == 1
    assert math.isnan(res.rows[2].statistic)
    assert not res.flagged
