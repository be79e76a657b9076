"""Quick-count estimator: cross-checked against svy and a hand-written textbook formula.

Independent references used here:
* svy (samplics' successor, validated against R's survey package): ``Sample.estimation.ratio``
  with stratum, psu, weight and population size (FPC), Taylor linearisation;
* Cochran (1977), eq. 6.50 / §6.11: variance of the combined ratio estimator,
  ``V(R) = 1/X² Σ_h N_h² (1 − f_h)/n_h (s²_yh + R² s²_xh − 2 R s_yxh)``, written out below;
* ``saylau.tabulate.seats.allocate`` (exact seat rules) for the seat projection.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import polars as pl
import pytest
import svy
from scipy import stats

from saylau._exceptions import EmptyInputError, SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.survey.coverage import coverage_study
from saylau.survey.estimates import ShareEstimates
from saylau.survey.frame import SamplingFrame
from saylau.survey.projection import project_seats, threshold_probability
from saylau.survey.quickcount import quick_count, quick_count_progress, stratified_ratio
from saylau.survey.sample import draw_sample
from saylau.tabulate.seats import allocate

CHOICES = ["A", "B", "C", "Против всех"]


def make_population(seed: int = 0, n_regions: int = 4, per_region: int = 60) -> pl.DataFrame:
    """A synthetic election: regions with different leanings, stations of varied size."""
    g = np.random.default_rng(seed)
    rows = []
    for r in range(n_regions):
        base = g.dirichlet([8 + 4 * r, 6, 3, 1])
        for i in range(per_region):
            reg = int(g.integers(300, 2500))
            turnout = g.uniform(0.4, 0.8)
            issued = int(reg * turnout)
            invalid = int(g.integers(0, 20))
            p = g.dirichlet(base * 60)
            votes = g.multinomial(issued - invalid, p)
            rows.append(
                {
                    "station": f"{r}-{i}",
                    "region": f"R{r}",
                    "voters_on_list": reg,
                    "issued": issued,
                    "invalid": invalid,
                    "valid": int(votes.sum()),
                    **{c: int(v) for c, v in zip(CHOICES, votes, strict=True)},
                }
            )
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def population() -> pl.DataFrame:
    return make_population()


@pytest.fixture(scope="module")
def frame(population: pl.DataFrame) -> SamplingFrame:
    return SamplingFrame.from_frame(
        population.select("station", pl.col("voters_on_list").alias("registered"), "region")
    )


def table_of(df: pl.DataFrame) -> ProtocolTable:
    return ProtocolTable.from_frame(df, profile="plain", choices=CHOICES, levels=["region"])


def svy_ratio(sample_df: pl.DataFrame, y: str, x: str, *, fpc: bool = True) -> tuple[float, float]:
    """svy's stratified ratio estimate and standard error (an independent implementation)."""
    design = svy.Design(stratum="stratum", psu="station", wgt="w", pop_size="N" if fpc else None)
    est = svy.Sample(data=sample_df, design=design).estimation.ratio(y=y, x=x)
    row = est.to_dicts()[0]
    return float(row["est"]), float(row["se"])


def cochran_combined_ratio(
    y: np.ndarray, x: np.ndarray, h: np.ndarray, big_n: dict[str, int]
) -> tuple[float, float]:
    """Cochran (1977) §6.11: combined ratio estimate and its approximate variance."""
    y_hat = sum(big_n[s] * y[h == s].mean() for s in big_n)
    x_hat = sum(big_n[s] * x[h == s].mean() for s in big_n)
    r = y_hat / x_hat
    v = 0.0
    for s, nn in big_n.items():
        ys, xs = y[h == s], x[h == s]
        n = len(ys)
        s2y, s2x = ys.var(ddof=1), xs.var(ddof=1)
        syx = np.cov(ys, xs, ddof=1)[0, 1]
        v += nn**2 * (1 - n / nn) / n * (s2y + r * r * s2x - 2 * r * syx)
    return r, float(np.sqrt(v) / x_hat)


def test_matches_svy_and_cochran_stratified_srs(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=11)
    reports = table_of(population.filter(pl.col("station").is_in(list(draw.stations))))
    qc = quick_count(reports, frame=frame, sample=draw)
    # the sample as svy wants it: stratum, psu, weight N_h/n_h, N_h for the FPC
    s = reports.frame.with_columns(
        pl.col("region").alias("stratum"),
        pl.sum_horizontal(CHOICES).cast(pl.Float64).alias("x"),
    )
    big_n = {k: int(v) for k, v in draw.population.items()}
    n_h = s.group_by("stratum").len()
    s = s.join(n_h, on="stratum").with_columns(
        pl.col("stratum").replace_strict(big_n).cast(pl.Float64).alias("N"),
    )
    s = s.with_columns((pl.col("N") / pl.col("len")).alias("w"))
    s = s.with_columns([pl.col(c).cast(pl.Float64).alias(f"y{k}") for k, c in enumerate(CHOICES)])
    h = s.get_column("stratum").to_numpy()
    x = s.get_column("x").to_numpy()
    for k, c in enumerate(CHOICES):
        est, se = svy_ratio(s, f"y{k}", "x")
        i = qc.shares.index(c)
        assert qc.shares.estimate[i] == pytest.approx(est, rel=1e-10)
        assert qc.shares.std_err[i] == pytest.approx(se, rel=1e-8)
        r_c, se_c = cochran_combined_ratio(s.get_column(c).to_numpy().astype(float), x, h, big_n)
        assert qc.shares.estimate[i] == pytest.approx(r_c, rel=1e-10)
        assert qc.shares.std_err[i] == pytest.approx(se_c, rel=1e-8)
    # the covariance: the lead of A over B is the ratio of (A − B) to x, whose se svy gives
    s = s.with_columns((pl.col("y0") - pl.col("y1")).alias("lead"))
    lead, lead_se = svy_ratio(s, "lead", "x")
    d = qc.shares.difference("A", "B")
    assert d.estimate == pytest.approx(lead, rel=1e-10)
    assert d.std_err == pytest.approx(lead_se, rel=1e-8)
    # t intervals on stations − strata degrees of freedom
    assert qc.shares.df == 40 - 4
    lo, hi = qc.shares.conf_int(0.05)
    q = stats.t.ppf(0.975, 36)
    assert hi[0] - lo[0] == pytest.approx(2 * q * qc.shares.std_err[0])


def test_pps_matches_svy_with_replacement_variance(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], method="pps", rng=5)
    reports = table_of(population.filter(pl.col("station").is_in(list(draw.stations))))
    qc = quick_count(reports, frame=frame, sample=draw)
    assert "PPS" in qc.shares.method
    w = dict(zip(draw.stations, draw.weight, strict=True))
    s = reports.frame.with_columns(
        pl.col("region").alias("stratum"),
        pl.col("station").replace_strict(w).cast(pl.Float64).alias("w"),
        pl.sum_horizontal(CHOICES).cast(pl.Float64).alias("x"),
        pl.col("A").cast(pl.Float64).alias("yA"),
    )
    est, se = svy_ratio(s, "yA", "x", fpc=False)
    assert qc.shares.estimate[0] == pytest.approx(est, rel=1e-10)
    assert qc.shares.std_err[0] == pytest.approx(se, rel=1e-8)


def test_pps_with_nonresponse_reports_are_a_pps_sample_of_r(population, frame):
    """PPS by registered voters, some sampled stations missing at random: the reports are a
    PPS sample of r_h stations (Särndal, Swensson & Wretman 1992, §15.6, response homogeneity
    groups), weight (1/π) n_h / r_h, and svy's with-replacement ratio variance over the reports
    with those weights is the reference."""
    draw = draw_sample(frame, n=40, strata=["region"], method="pps", rng=5)
    assert not draw.certainty.any()  # otherwise x/π is not the same for every sampled station
    missing = {draw.stations[i] for i in (0, 3, 11, 12, 25)}
    got = [s for s in draw.stations if s not in missing]
    reports = table_of(population.filter(pl.col("station").is_in(got)))
    qc = quick_count(reports, frame=frame, sample=draw)
    n_h: dict[str, int] = {}
    r_h: dict[str, int] = {}
    for sid, h in zip(draw.stations, draw.stratum, strict=True):
        n_h[h] = n_h.get(h, 0) + 1
        r_h[h] = r_h.get(h, 0) + (sid not in missing)
    w = {
        sid: wt * n_h[h] / r_h[h]
        for sid, h, wt in zip(draw.stations, draw.stratum, draw.weight, strict=True)
    }
    s = reports.frame.with_columns(
        pl.col("region").alias("stratum"),
        pl.col("station").replace_strict(w).cast(pl.Float64).alias("w"),
        pl.sum_horizontal(CHOICES).cast(pl.Float64).alias("x"),
        *[pl.col(c).cast(pl.Float64).alias(f"y{k}") for k, c in enumerate(CHOICES)],
    )
    for k, c in enumerate(CHOICES):
        est, se = svy_ratio(s, f"y{k}", "x", fpc=False)
        i = qc.shares.index(c)
        assert qc.shares.estimate[i] == pytest.approx(est, rel=1e-10)
        assert qc.shares.std_err[i] == pytest.approx(se, rel=1e-8)
    assert qc.stations_reported == 35


def test_pps_with_nonresponse_covers_where_station_size_matters():
    """A population built so that the non-response adjustment matters: 30 strata of 200
    stations whose sizes span 50 to 3,000 registered voters and whose leader share falls with
    size; PPS samples of 4 per stratum, a quarter of the sampled stations missing at random.
    The truth is the population's own share (known); 400 samples (seed 3), the 99% band of
    Binomial(400, 0.95) / 400 is [0.92, 0.975] (scipy.stats.binom.ppf). The former
    adjustment by Σ 1/π (an estimated number of stations) covered 85% here with a bias of 0.65
    standard deviations; the size-measure adjustment makes the reports a PPS sample of r."""
    g = np.random.default_rng(12)
    rows = []
    for h in range(30):
        lean = g.uniform(0.3, 0.6)
        for i in range(200):
            reg = int(np.exp(g.uniform(np.log(50), np.log(3000))))
            cast = int(g.binomial(reg, 0.6))
            p = np.clip(lean + 0.125 * (np.log(reg) - 6.0) + g.normal(0, 0.05), 0.02, 0.98)
            a = int(g.binomial(cast, p))
            rows.append(
                {"station": f"{h}-{i}", "region": f"R{h:02d}", "voters_on_list": reg,
                 "A": a, "B": cast - a}
            )  # fmt: skip
    t = ProtocolTable.from_frame(
        pl.DataFrame(rows), profile="plain", choices=["A", "B"], levels=["region"]
    )
    cov = coverage_study(t, n=120, draws=400, method="pps", nonresponse=0.25, rng=3)
    lo, hi = stats.binom.ppf([0.005, 0.995], 400, 0.95) / 400
    assert (lo, hi) == (0.92, 0.975)
    assert np.all((cov.coverage >= lo) & (cov.coverage <= hi)), cov.coverage
    assert np.all(np.abs(cov.bias) < 0.25 * cov.empirical_sd), cov.bias / cov.empirical_sd


def test_turnout_is_ratio_of_issued_to_registered(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=2)
    sub = population.filter(pl.col("station").is_in(list(draw.stations)))
    qc = quick_count(table_of(sub), frame=frame, sample=draw)
    assert qc.turnout is not None
    # hand: Σ_h N_h/n_h Σ issued / Σ_h N_h/n_h Σ registered
    g = sub.group_by("region").agg(pl.col("issued").sum(), pl.col("voters_on_list").sum(), pl.len())
    num = sum(
        draw.population[r] / n * i
        for r, i, _, n in g.select("region", "issued", "voters_on_list", "len").iter_rows()
    )
    den = sum(
        draw.population[r] / n * v
        for r, _, v, n in g.select("region", "issued", "voters_on_list", "len").iter_rows()
    )
    assert qc.turnout.estimate[0] == pytest.approx(num / den, rel=1e-12)


def test_bad_reports_are_listed_and_kept_out(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=3)
    sub = population.filter(pl.col("station").is_in(list(draw.stations)))
    clean = quick_count(table_of(sub), frame=frame, sample=draw)
    first = sub.head(1)
    outsider = population.filter(~pl.col("station").is_in(list(draw.stations))).head(1)
    stranger = first.with_columns(pl.lit("nowhere").alias("station"))
    conflicting = sub.slice(1, 1).with_columns(pl.col("A") + 7)
    twin = sub.slice(2, 1)
    bad = pl.concat([sub, outsider, stranger, conflicting, twin])
    qc = quick_count(table_of(bad), frame=frame, sample=draw)
    reasons = {(e.station, e.reason) for e in qc.excluded}
    assert (outsider["station"][0], "station not in the sample") in reasons
    assert ("nowhere", "station not in the sampling frame") in reasons
    conflict_id = sub["station"][1]
    assert sum(1 for s, r in reasons if s == conflict_id and "different reports" in r) == 1
    assert sum(1 for e in qc.excluded if e.station == conflict_id) == 2
    assert any(e.station == sub["station"][2] and "identical" in e.reason for e in qc.excluded)
    # the estimate equals the one without the conflicting station (treated as not reported)
    ref = quick_count(
        table_of(sub.filter(pl.col("station") != conflict_id)), frame=frame, sample=draw
    )
    np.testing.assert_allclose(qc.shares.estimate, ref.shares.estimate, rtol=1e-12)
    np.testing.assert_allclose(qc.shares.cov, ref.shares.cov, rtol=1e-10)
    assert qc.stations_reported == clean.stations_reported - 1
    assert qc.not_reported()[sub["region"][1]] == 1


def test_zero_valid_and_missing_figures_are_kept_out(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=4)
    sub = population.filter(pl.col("station").is_in(list(draw.stations)))
    zero_id, null_id = sub["station"][0], sub["station"][5]
    bad = sub.with_columns(
        [
            pl.when(pl.col("station") == zero_id).then(0).otherwise(pl.col(c)).alias(c)
            for c in CHOICES
        ]
    ).with_columns(
        pl.when(pl.col("station") == null_id).then(None).otherwise(pl.col("B")).alias("B")
    )
    # votes zeroed but valid left as it was: the copy fails its control relation (checked by
    # default); without the check, the rule for zero valid ballots keeps it out
    checked = quick_count(table_of(bad), frame=frame, sample=draw)
    assert {e.station: e.reason for e in checked.excluded}[zero_id].startswith("copy fails")
    qc = quick_count(table_of(bad), frame=frame, sample=draw, check_copies=False)
    reasons = {e.station: e.reason for e in qc.excluded}
    assert reasons[zero_id].startswith("zero valid ballots")
    assert reasons[null_id] == "missing vote figure"
    ref = quick_count(
        table_of(sub.filter(~pl.col("station").is_in([zero_id, null_id]))),
        frame=frame,
        sample=draw,
    )
    np.testing.assert_allclose(qc.shares.estimate, ref.shares.estimate, rtol=1e-12)


def test_empty_stratum_refused_or_collapsed(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=6)
    sub = population.filter(
        pl.col("station").is_in(list(draw.stations)) & (pl.col("region") != "R1")
    )
    with pytest.raises(EmptyInputError, match="strata have no report") as exc:
        quick_count(table_of(sub), frame=frame, sample=draw)
    assert "R1" in str(exc.value)
    qc = quick_count(table_of(sub), frame=frame, sample=draw, empty="collapse")
    st = {s.stratum: s for s in qc.strata}
    assert st["R1"].collapsed_into == "R2"  # the next label in sorted order
    # declared rule: R1's stations are represented by R2's reports, weight (N1 + N2) / r2
    merged = population.with_columns(
        pl.when(pl.col("region") == "R1").then(pl.lit("R2")).otherwise("region").alias("region")
    )
    fr2 = SamplingFrame.from_frame(
        merged.select("station", pl.col("voters_on_list").alias("registered"), "region")
    )
    ref = quick_count(table_of(sub), frame=fr2, strata=["region"])
    np.testing.assert_allclose(qc.shares.estimate, ref.shares.estimate, rtol=1e-12)
    np.testing.assert_allclose(qc.shares.cov, ref.shares.cov, rtol=1e-9)


def test_single_report_stratum_rules(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=8)
    keep_one = [s for s, h in zip(draw.stations, draw.stratum, strict=True) if h == "R0"][:1]
    others = [s for s, h in zip(draw.stations, draw.stratum, strict=True) if h != "R0"]
    sub = population.filter(pl.col("station").is_in(keep_one + others))
    col = quick_count(table_of(sub), frame=frame, sample=draw)
    cert = quick_count(table_of(sub), frame=frame, sample=draw, singleton="certainty")
    np.testing.assert_allclose(col.shares.estimate, cert.shares.estimate)
    assert any("single report" in v for v in col.rules.values())
    # hand formula for "collapse": weights of the original strata, variance with R0 and R1
    # pooled into one group (r = 1 + r_R1, N = N_R0 + N_R1)
    ids = sub.get_column("station").to_list()
    reg = sub.get_column("region").to_numpy()
    votes = sub.select(CHOICES).to_numpy().astype(float)
    x = votes.sum(axis=1)
    r_h = {h: int((reg == h).sum()) for h in ("R0", "R1", "R2", "R3")}
    w = np.array([draw.population[h] / r_h[h] for h in reg])
    grp = np.array([{"R0": 0, "R1": 0, "R2": 1, "R3": 2}[h] for h in reg])
    fac = []
    for members in (("R0", "R1"), ("R2",), ("R3",)):
        r = sum(r_h[m] for m in members)
        big = sum(draw.population[m] for m in members)
        fac.append((1 - r / big) * r / (r - 1))
    est, cov = stratified_ratio(votes, x, w, grp, fac)
    np.testing.assert_allclose(col.shares.estimate, est, rtol=1e-12)
    np.testing.assert_allclose(col.shares.cov, cov, rtol=1e-9)
    assert len(ids) == len(set(ids))
    # "certainty": R0 adds nothing to the variance
    grp2 = np.array([{"R0": 3, "R1": 0, "R2": 1, "R3": 2}[h] for h in reg])
    fac2 = []
    for h in ("R1", "R2", "R3"):
        r = r_h[h]
        fac2.append((1 - r / draw.population[h]) * r / (r - 1))
    _, cov2 = stratified_ratio(votes, x, w, grp2, [*fac2, 0.0])
    np.testing.assert_allclose(cert.shares.cov, cov2, rtol=1e-9)


def test_no_sample_mode_equals_full_response_sample(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=9)
    sub = table_of(population.filter(pl.col("station").is_in(list(draw.stations))))
    a = quick_count(sub, frame=frame, sample=draw)
    b = quick_count(sub, frame=frame, strata=["region"])
    np.testing.assert_allclose(a.shares.estimate, b.shares.estimate, rtol=1e-12)
    np.testing.assert_allclose(a.shares.cov, b.shares.cov, rtol=1e-10)
    assert b.stations_sampled is None and a.stations_sampled == 40


def test_contract_order_pickle_no_mutation(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=10)
    df = population.filter(pl.col("station").is_in(list(draw.stations)))
    before = df.clone()
    a = quick_count(table_of(df), frame=frame, sample=draw)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=3)
    b = quick_count(table_of(shuffled), frame=frame, sample=draw)
    np.testing.assert_allclose(a.shares.estimate, b.shares.estimate, rtol=1e-12)
    np.testing.assert_allclose(a.shares.cov, b.shares.cov, rtol=1e-9, atol=1e-18)
    assert df.equals(before)
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.shares.estimate, a.shares.estimate)
    d = a.to_dict()
    assert d["stations_reported"] == 40


def test_empty_input_raises(frame, population):
    draw = draw_sample(frame, n=40, strata=["region"], rng=1)
    none = table_of(population.filter(pl.col("station") == "x"))
    with pytest.raises(EmptyInputError):
        quick_count(none, frame=frame, sample=draw)


def test_small_share_intervals_stay_in_unit_interval():
    est = ShareEstimates(
        choices=("big", "tiny"),
        estimate=np.array([0.995, 0.005]),
        cov=np.diag([0.004**2, 0.004**2]),
        df=30.0,
        method="",
        nobs=31,
        n_psu=31,
        n_strata=1,
    )
    lo_w, _ = est.conf_int(method="wald")
    assert lo_w[1] < 0  # the Wald interval leaves [0, 1] for a 0.5% share ...
    for method in ("wilson", "logit"):
        lo, hi = est.conf_int(method=method)
        assert 0 < lo[1] < 0.005 < hi[1] < 1  # ... these do not


def test_threshold_probability_closed_form():
    est = ShareEstimates(
        choices=("A", "B", "C"),
        estimate=np.array([0.048, 0.5, 0.452]),
        cov=np.diag([0.002**2, 0.01**2, 0.01**2]),
        df=100.0,
        method="",
        nobs=101,
        n_psu=101,
        n_strata=1,
    )
    p = threshold_probability(est, 0.05)
    assert p["A"] == pytest.approx(stats.t.sf(1.0, 100))  # (0.05 − 0.048)/0.002 = 1
    assert p["B"] == pytest.approx(1.0)


def test_seat_projection_collapses_to_exact_rule_when_certain():
    shares = np.array([0.52, 0.27, 0.12, 0.06, 0.03])
    est = ShareEstimates(
        choices=("P1", "P2", "P3", "P4", "Против всех"),
        estimate=shares,
        cov=np.eye(5) * 1e-14,
        df=500.0,
        method="",
        nobs=501,
        n_psu=501,
        n_strata=1,
    )
    pr = project_seats(est, seats=69, method="hare", threshold=0.05, draws=500, rng=1)
    votes = {c: round(s * 1e7) for c, s in zip(est.choices, shares, strict=True)}
    exact = allocate(votes, seats=69, method="hare", threshold=0.05)
    want = [exact.seats[c] for c in est.choices]
    assert pr.point.tolist() == want
    assert pr.low.tolist() == want and pr.high.tolist() == want
    assert pr.point[-1] == 0  # Against all wins nothing


def test_seat_projection_party_at_threshold_is_a_coin_flip():
    est = ShareEstimates(
        choices=("P1", "P2", "P3"),
        estimate=np.array([0.6, 0.35, 0.05]),
        cov=np.diag([1e-4, 1e-4, 1e-6]),
        df=None,
        method="",
        nobs=1,
        n_psu=1,
        n_strata=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pr = project_seats(est, seats=50, method="dhondt", threshold=0.05, draws=4000, rng=3)
    # P3 sits on the 5% line: it passes in about half the draws (binomial sd 0.008)
    assert abs(pr.prob_threshold[2] - 0.5) < 0.05
    assert pr.low[2] == 0 and pr.high[2] >= 2


def test_progress_ends_at_the_full_estimate(population, frame):
    draw = draw_sample(frame, n=40, strata=["region"], rng=12)
    sub = table_of(population.filter(pl.col("station").is_in(list(draw.stations))))
    full = quick_count(sub, frame=frame, sample=draw)
    prog = quick_count_progress(sub, frame=frame, sample=draw, checkpoints=4)
    assert [p.reports for p in prog.points] == [10, 20, 30, 40]
    last = prog.points[-1]
    assert last.estimate is not None
    np.testing.assert_allclose(last.estimate, full.shares.estimate)
    strict = quick_count_progress(sub, frame=frame, sample=draw, checkpoints=[1, 40], empty="error")
    assert strict.points[0].estimate is None and "no report" in (strict.points[0].note or "")
    assert prog.to_frame().height == 4 * len(CHOICES)


def test_vectorised_coverage_core_equals_quick_count(population, frame):
    t = table_of(population)
    cov = coverage_study(t, n=40, strata=["region"], draws=3, keep_samples=True, rng=2)
    assert cov.samples is not None
    for d in range(3):
        mask = np.zeros(t.stations, dtype=bool)
        mask[cov.samples[d]] = True
        qc = quick_count(t.filter(mask), frame=frame, strata=["region"])
        np.testing.assert_allclose(cov.estimates[d], qc.shares.estimate, rtol=1e-10)
        np.testing.assert_allclose(cov.std_errs[d], qc.shares.std_err, rtol=1e-7)


def test_simulated_coverage_on_synthetic_population():
    # known truth: the synthetic population's totals; 2,000 repeated stratified samples
    pop = make_population(seed=1, n_regions=5, per_region=400)
    cov = coverage_study(table_of(pop), n=200, strata=["region"], draws=2000, rng=4)
    assert np.all((cov.coverage > 0.93) & (cov.coverage < 0.97))
    assert np.all(np.abs(cov.bias) < 0.1 * cov.empirical_sd)


def test_bad_options():
    df = make_population(per_region=5)
    fr = SamplingFrame.from_frame(
        df.select("station", pl.col("voters_on_list").alias("registered"), "region")
    )
    with pytest.raises(SaylauInputError, match="denominator"):
        quick_count(table_of(df), frame=fr, denominator="bogus")  # type: ignore[arg-type]
    with pytest.raises(SaylauInputError, match="single-station"):
        quick_count(table_of(df), frame=fr, singleton="bogus")  # type: ignore[arg-type]
