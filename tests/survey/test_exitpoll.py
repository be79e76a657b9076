"""Exit-poll estimation: cross-checks against svy, statsmodels, a hand computation and closed
forms (tests/results/exitpoll_closed_forms.json), and the bad-input rules."""

from __future__ import annotations

import json
import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
import svy
from hypothesis import given, settings
from hypothesis import strategies as hst

from saylau._exceptions import (
    DataFormatError,
    EmptyInputError,
    SaylauInputError,
    SaylauWarning,
    UnknownNameError,
)
from saylau.survey.exitpoll import (
    ANSWER,
    estimate_by_stratum,
    estimate_exitpoll,
    identifying_columns,
    interviews_from_frame,
    read_interviews,
    station_answers,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"
CLOSED = json.loads((RESULTS / "exitpoll_closed_forms.json").read_text(encoding="utf-8"))
CHOICES = ["A", "B", "C", "Против всех"]


def _design(seed: int, *, n_stations: int = 60, per_station: int = 40, bands: int = 3):
    """A random stratified cluster design with refusals, don't-knows and time bands."""
    rng = np.random.default_rng(seed)
    st = np.array([f"s{i:03d}" for i in range(n_stations)])
    stratum = np.array([f"h{i % 4}" for i in range(n_stations)])
    prob = rng.uniform(0.05, 0.6, n_stations)
    pref = rng.dirichlet([4, 3, 2, 0.7], n_stations)
    rows = []
    for i, s in enumerate(st):
        m = int(rng.integers(per_station // 2, per_station * 2))
        ch = rng.choice(4, size=m, p=pref[i])
        band = rng.integers(0, bands, size=m)
        status = rng.choice(3, size=m, p=[0.75, 0.2, 0.05])
        for c, b, k in zip(ch, band, status, strict=True):
            answer = CHOICES[c] if k == 0 else ("refused" if k == 1 else "dont_know")
            rows.append((s, f"b{b}", answer))
    df = pl.DataFrame(rows, schema=["station", "band", "choice"], orient="row")
    frame = pl.DataFrame({"station": st, "stratum": stratum, "prob": prob})
    return df, frame


def _hand_weights(df: pl.DataFrame, frame: pl.DataFrame) -> list[tuple[str, str, float]]:
    """Answer weights w = (1/pi) * reporting adjustment * approached/answers, by plain loops."""
    approached: dict[tuple[str, str], int] = defaultdict(int)
    answered: dict[tuple[str, str], int] = defaultdict(int)
    for s, b, c in df.iter_rows():
        approached[(s, b)] += 1
        if c in CHOICES:
            answered[(s, b)] += 1
    prob = dict(zip(frame["station"], frame["prob"], strict=True))
    stratum = dict(zip(frame["station"], frame["stratum"], strict=True))
    sampled = {s for s, _, _ in df.iter_rows()}
    reported = {s for (s, _), m in answered.items() if m > 0}
    tot_s: dict[str, float] = defaultdict(float)
    tot_r: dict[str, float] = defaultdict(float)
    for s in sampled:
        tot_s[stratum[s]] += 1 / prob[s]
        if s in reported:
            tot_r[stratum[s]] += 1 / prob[s]
    a_s: dict[str, float] = defaultdict(float)
    a_ans: dict[str, float] = defaultdict(float)
    for (s, b), n in approached.items():
        a_s[s] += n
        if answered[(s, b)] > 0:
            a_ans[s] += n
    out = []
    for s, b, c in df.iter_rows():
        if c not in CHOICES:
            continue
        d = 1 / prob[s] * tot_s[stratum[s]] / tot_r[stratum[s]]
        a = approached[(s, b)] / answered[(s, b)] * a_s[s] / a_ans[s]
        out.append((s, c, d * a))
    return out


def _hand_taylor(weights, stratum_of, missing=None, design_weight=None):
    """Ratio estimate and stratified cluster covariance, written out with loops.

    ``missing`` = {station: (d, a_h)}: sampled stations that did not report, with their design
    weight and their stratum's reporting factor; the factor's variance then counts by the
    two-phase scores of Kim & Kim (2007): z = d ē + a (t − d ē) for a reporting station with
    t its base-weighted linearised total, z = d ē for a missing one, ē = Σ t / Σ d; the
    residuals t − d ē of the r reports (r − 1 degrees of freedom) are scaled by
    k = sqrt(r (n − 1) / ((r − 1) n)) so that the n/(n − 1) variance over the n sampled
    stations is unbiased for their part (exact with equal weights: it is then the r/(r − 1)
    formula over the reports)."""
    k = len(CHOICES)
    total = sum(w for _, _, w in weights)
    p = np.zeros(k)
    for _, c, w in weights:
        p[CHOICES.index(c)] += w / total
    z: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(k))
    for s, c, w in weights:
        y = np.zeros(k)
        y[CHOICES.index(c)] = 1.0
        z[s] += w * (y - p) / total
    for s0, (d0, a0) in (missing or {}).items():
        h0 = stratum_of[s0]
        members = [s for s in z if stratum_of[s] == h0]
        d_of = {s: design_weight[s] for s in members}
        t = {s: z[s] / a0 for s in members}
        ebar = sum(t.values()) / sum(d_of.values())
        r, n = len(members), len(members) + 1
        k_r = np.sqrt(r * (n - 1) / ((r - 1) * n))
        for s in members:
            z[s] = d_of[s] * ebar + k_r * a0 * (t[s] - d_of[s] * ebar)
        z[s0] = d0 * ebar
    by_h: dict[str, list[np.ndarray]] = defaultdict(list)
    for s, zs in z.items():
        by_h[stratum_of[s]].append(zs)
    cov = np.zeros((k, k))
    for zs_list in by_h.values():
        n = len(zs_list)
        mean = sum(zs_list) / n
        for zs in zs_list:
            cov += n / (n - 1) * np.outer(zs - mean, zs - mean)
    return p, cov, len(z) - len(missing or {}) - len(by_h)


def test_matches_hand_computation_with_nonresponse_weights():
    df, frame = _design(1)
    # one station where nobody answered: its weight moves to its stratum
    df = pl.concat(
        [df, pl.DataFrame({"station": ["s000"] * 3, "band": ["b9"] * 3, "choice": ["refused"] * 3})]
    )
    df = df.filter(~((pl.col("station") == "s005") & pl.col("choice").is_in(CHOICES)))
    est = estimate_exitpoll(interviews_from_frame(df, choices=CHOICES), frame)
    weights = _hand_weights(df, frame)
    prob = dict(zip(frame["station"], frame["prob"], strict=True))
    stratum_of = dict(zip(frame["station"], frame["stratum"], strict=True))
    h5 = stratum_of["s005"]
    in_h = [s for s in prob if stratum_of[s] == h5 and s in set(df["station"])]
    a_h = sum(1 / prob[s] for s in in_h) / sum(1 / prob[s] for s in in_h if s != "s005")
    p, cov, dfree = _hand_taylor(
        weights,
        stratum_of,
        missing={"s005": (1 / prob["s005"], a_h)},
        design_weight={s: 1 / prob[s] for s in prob},
    )
    np.testing.assert_allclose(est.estimate, p, rtol=1e-12)
    np.testing.assert_allclose(est.cov, cov, rtol=1e-10, atol=1e-18)
    assert est.df == dfree
    assert est.extra["stations_missing"] == ["s005"]
    assert est.extra["stations_reported"] == est.extra["stations_sampled"] - 1


def test_matches_svy_taylor_covariance_with_the_same_weights():
    df, frame = _design(2)
    est = estimate_exitpoll(interviews_from_frame(df, choices=CHOICES), frame)
    weights = _hand_weights(df, frame)
    strat = dict(zip(frame["station"], frame["stratum"], strict=True))
    data = pl.DataFrame(
        {
            "psu": [s for s, _, _ in weights],
            "str": [strat[s] for s, _, _ in weights],
            "w": [w for _, _, w in weights],
            "ch": [c for _, c, _ in weights],
        }
    )
    sample = svy.Sample(data, svy.Design(stratum="str", psu="psu", wgt="w"))
    ref = sample.estimation.prop("ch", deff="wr")
    order = [ref.to_polars()["ch"].to_list().index(c) for c in CHOICES]
    svy_est = ref.to_polars()["est"].to_numpy()[order]
    svy_cov = np.asarray(ref.covariance)[np.ix_(order, order)]
    np.testing.assert_allclose(est.estimate, svy_est, rtol=1e-10)
    np.testing.assert_allclose(est.cov, svy_cov, rtol=1e-8)
    assert est.df == ref.design_df
    # svy's SRS reference variance is p(1-p)/(m-1); ours is p(1-p)/m (Kish).
    m = est.nobs
    svy_deff = ref.to_polars()["deff"].to_numpy()[order]
    np.testing.assert_allclose(est.deff, svy_deff * m / (m - 1), rtol=1e-8)


def test_single_stratum_matches_statsmodels_cluster_robust_se():
    df, frame = _design(3)
    frame = frame.with_columns(pl.lit("one").alias("stratum"))
    iv = interviews_from_frame(df, choices=CHOICES)
    est = estimate_exitpoll(iv, frame, nonresponse=False)
    ans = iv.data.filter(pl.col("status") == ANSWER)
    prob = dict(zip(frame["station"], frame["prob"], strict=True))
    w = np.array([1 / prob[s] for s in ans["station"]])
    groups = pd_codes(ans["station"].to_list())
    for i, c in enumerate(CHOICES):
        y = (ans["choice"] == c).to_numpy().astype(float)
        fit = sm.WLS(y, np.ones_like(y), weights=w).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        # CR1 correction G/(G-1) * (N-1)/(N-K) with K = 1 is the n_h/(n_h-1) of the design.
        assert fit.params[0] == pytest.approx(est.estimate[i], rel=1e-10)
        assert fit.bse[0] == pytest.approx(est.std_err[i], rel=1e-8)


def pd_codes(values):
    lut: dict[str, int] = {}
    return np.array([lut.setdefault(v, len(lut)) for v in values])


def _single_stratum(clusters: list[list[str]]):
    rows = [(f"c{i}", "all", c) for i, cl in enumerate(clusters) for c in cl]
    df = pl.DataFrame(rows, schema=["station", "band", "choice"], orient="row")
    frame = pl.DataFrame({"station": [f"c{i}" for i in range(len(clusters))]})
    return estimate_exitpoll(interviews_from_frame(df, choices=["A", "B"]), frame)


def test_clusters_of_size_one_give_the_srs_variance():
    ref = CLOSED["srs_clusters_of_size_one"]
    est = _single_stratum([["A"]] * ref["count_a"] + [["B"]] * (ref["n"] - ref["count_a"]))
    assert est.estimate[0] == pytest.approx(ref["p_a"])
    assert est.cov[0, 0] == pytest.approx(ref["variance_a"], rel=1e-12)
    assert est.deff[0] == pytest.approx(ref["deff_a"], rel=1e-12)
    assert est.df == ref["n"] - 1


@pytest.mark.parametrize("case", ["homogeneous", "balanced"])
def test_kish_design_effect_on_constructed_designs(case):
    ref = CLOSED["kish_deff_equal_clusters"][case]
    n, m = ref["n"], ref["m"]
    if case == "homogeneous":
        clusters = [["A"] * m] * (n // 2) + [["B"] * m] * (n // 2)
    else:
        clusters = [["A"] * (m // 2) + ["B"] * (m // 2)] * n
    est = _single_stratum(clusters)
    assert est.deff[0] == pytest.approx(ref["deff"], abs=1e-12)
    assert ref["deff"] == pytest.approx(n / (n - 1) * (1 + (m - 1) * ref["rho"]))


def test_kish_identity_with_a_brute_force_intraclass_correlation():
    rng = np.random.default_rng(7)
    n, m = 25, 6
    ones = rng.integers(0, m + 1, size=n)
    clusters = [["A"] * int(a) + ["B"] * (m - int(a)) for a in ones]
    est = _single_stratum(clusters)
    y = np.array([[1.0 if c == "A" else 0.0 for c in cl] for cl in clusters])
    ybar = y.mean()
    sigma2 = ybar * (1 - ybar)
    pairs = sum(
        (y[c, i] - ybar) * (y[c, j] - ybar)
        for c in range(n)
        for i in range(m)
        for j in range(m)
        if i != j
    )
    rho = pairs / (n * m * (m - 1) * sigma2)
    assert est.deff[0] == pytest.approx(n / (n - 1) * (1 + (m - 1) * rho), rel=1e-10)


def _with_demographics(seed: int):
    df, frame = _design(seed)
    rng = np.random.default_rng(seed + 100)
    g = rng.choice(["f", "m"], size=df.height, p=[0.65, 0.35])
    a = rng.choice(["18-29", "30-49", "50+"], size=df.height, p=[0.2, 0.3, 0.5])
    return df.with_columns(pl.Series("gender", g), pl.Series("age_band", a)), frame


MARGINS = {"gender": {"f": 0.54, "m": 0.46}, "age_band": {"18-29": 0.25, "30-49": 0.4, "50+": 0.35}}


def test_raking_matches_svy_rake():
    df, frame = _with_demographics(4)
    iv = interviews_from_frame(df, choices=CHOICES)
    est = estimate_exitpoll(iv, frame, margins=MARGINS, calibration_variance=False)
    weights = _hand_weights(df.select("station", "band", "choice"), frame)
    ans = iv.data.filter(pl.col("status") == ANSWER)
    strat = dict(zip(frame["station"], frame["stratum"], strict=True))
    data = pl.DataFrame(
        {
            "psu": ans["station"],
            "str": [strat[s] for s in ans["station"]],
            "w": [w for _, _, w in weights],
            "ch": ans["choice"],
            "gender": ans["gender"],
            "age_band": ans["age_band"],
        }
    )
    sample = svy.Sample(data, svy.Design(stratum="str", psu="psu", wgt="w"))
    sample = sample.weighting.rake(shares=MARGINS, tol=1e-12, max_iter=500)
    ref = sample.estimation.prop("ch").to_polars()
    order = [ref["ch"].to_list().index(c) for c in CHOICES]
    np.testing.assert_allclose(est.estimate, ref["est"].to_numpy()[order], rtol=1e-8)
    # The raked weights as fixed weights of a new svy design = calibration_variance=False.
    fixed = svy.Sample(sample.data, svy.Design(stratum="str", psu="psu", wgt="rk_wgt"))
    ref_fixed = fixed.estimation.prop("ch").to_polars()
    np.testing.assert_allclose(est.std_err, ref_fixed["se"].to_numpy()[order], rtol=1e-8)


def test_a_calibrated_variable_has_zero_variance():
    """Deville & Särndal (1992): a variable in the calibration is estimated without error."""
    df, frame = _with_demographics(5)
    df = df.with_columns(pl.col("gender").alias("choice"))
    iv = interviews_from_frame(df, choices=["f", "m"])
    est = estimate_exitpoll(iv, frame, margins={"gender": {"f": 0.7, "m": 0.3}})
    np.testing.assert_allclose(est.estimate, [0.7, 0.3], rtol=1e-9)
    np.testing.assert_allclose(est.std_err, 0.0, atol=1e-12)
    fixed = estimate_exitpoll(
        iv, frame, margins={"gender": {"f": 0.7, "m": 0.3}}, calibration_variance=False
    )
    assert fixed.std_err[0] > 1e-3


def test_poststratified_variance_matches_the_hand_formula():
    df, frame = _with_demographics(6)
    iv = interviews_from_frame(df, choices=CHOICES)
    target = {"f": 0.5, "m": 0.5}
    est = estimate_exitpoll(iv, frame, margins={"gender": target})
    base = _hand_weights(df.select("station", "band", "choice"), frame)
    ans = iv.data.filter(pl.col("status") == ANSWER)
    gender = ans["gender"].to_list()
    tot_g: dict[str, float] = defaultdict(float)
    for (_, _, w), g in zip(base, gender, strict=True):
        tot_g[g] += w
    total = sum(tot_g.values())
    w = np.array(
        [w * target[g] * total / tot_g[g] for (_, _, w), g in zip(base, gender, strict=True)]
    )
    y = np.array([[1.0 if c == ch else 0.0 for ch in CHOICES] for c in ans["choice"]])
    p = (w[:, None] * y).sum(0) / w.sum()
    e = y - p
    ebar = {
        g: (w[np.array(gender) == g, None] * e[np.array(gender) == g]).sum(0)
        / w[np.array(gender) == g].sum()
        for g in target
    }
    r = e - np.array([ebar[g] for g in gender])
    strat = dict(zip(frame["station"], frame["stratum"], strict=True))
    weights = [(s, w_i * r_i) for s, w_i, r_i in zip(ans["station"], w, r, strict=True)]
    z: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(CHOICES)))
    for s, v in weights:
        z[s] += v / w.sum()
    by_h: dict[str, list[np.ndarray]] = defaultdict(list)
    for s, zs in z.items():
        by_h[strat[s]].append(zs)
    cov = np.zeros((len(CHOICES), len(CHOICES)))
    for lst in by_h.values():
        n = len(lst)
        mean = sum(lst) / n
        for zs in lst:
            cov += n / (n - 1) * np.outer(zs - mean, zs - mean)
    np.testing.assert_allclose(est.estimate, p, rtol=1e-10)
    np.testing.assert_allclose(est.cov, cov, rtol=1e-7, atol=1e-15)


def test_tally_and_skip_enter_the_weights():
    df, frame = _design(8, n_stations=12)
    iv = interviews_from_frame(df, choices=CHOICES)
    counts = df.group_by(["station", "band"]).len()
    tally = counts.with_columns(
        (pl.col("len") * 2).alias("approached"),
        pl.when(pl.col("station") < "s006").then(5).otherwise(10).alias("skip"),
    ).drop("len")
    est = estimate_exitpoll(iv, frame, tally=tally)
    # by hand: each answer's weight times 2 (approached doubled) and times its station's skip
    weights = _hand_weights(df, frame)
    skip = {s: (5 if s < "s006" else 10) for s in frame["station"]}
    scaled = [(s, c, w * 2 * skip[s]) for s, c, w in weights]
    p, cov, _ = _hand_taylor(scaled, dict(zip(frame["station"], frame["stratum"], strict=True)))
    np.testing.assert_allclose(est.estimate, p, rtol=1e-12)
    np.testing.assert_allclose(est.cov, cov, rtol=1e-10)
    short = tally.with_columns(pl.lit(1).alias("approached"))
    with pytest.raises(DataFormatError, match="fewer approached"):
        estimate_exitpoll(iv, frame, tally=short)


def test_row_order_does_not_matter_and_result_pickles():
    df, frame = _design(9)
    a = estimate_exitpoll(interviews_from_frame(df, choices=CHOICES), frame)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=3)
    b = estimate_exitpoll(interviews_from_frame(shuffled, choices=CHOICES), frame)
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-9, atol=1e-18)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.cov, a.cov)
    json.dumps(a.to_dict())


def test_csv_and_parquet_give_the_same_records(tmp_path):
    df, frame = _design(10, n_stations=8)
    df.write_csv(tmp_path / "iv.csv")
    df.write_parquet(tmp_path / "iv.parquet")
    a = estimate_exitpoll(read_interviews(tmp_path / "iv.csv", choices=CHOICES), frame)
    b = estimate_exitpoll(read_interviews(tmp_path / "iv.parquet", choices=CHOICES), frame)
    np.testing.assert_array_equal(a.estimate, b.estimate)


def test_against_all_spellings_and_inferred_choices():
    df = pl.DataFrame(
        {"station": ["1", "1", "2", "2"], "choice": ["Против всех", "against all", "A", "ОТКАЗ"]}
    )
    iv = interviews_from_frame(df)
    assert iv.choices == ("A", "against all")  # one Against-all choice, first spelling sorted
    assert iv.counts() == {"answer": 3, "refused": 1, "dont_know": 0, "unknown": 0}


# ------------------------------------------------------------------------------- bad input


def test_identifying_columns_are_refused_and_named():
    df = pl.DataFrame(
        {
            "station": ["1"],
            "choice": ["A"],
            "Phone": ["+7 701"],
            "ФИО": ["x"],
            "station_name": ["School 5"],
        }
    )
    with pytest.raises(DataFormatError) as err:
        interviews_from_frame(df)
    assert "Phone" in str(err.value) and "ФИО" in str(err.value)
    assert "station_name" not in str(err.value)
    assert identifying_columns(["e-mail", "respondent_surname", "birth_date", "age_band"]) == [
        "e-mail",
        "respondent_surname",
        "birth_date",
    ]


def test_unknown_choices_are_kept_out_and_listed():
    df = pl.DataFrame(
        {
            "station": ["1", "1", "1", "2", "2", "2"],
            "band": ["x"] * 6,
            "choice": ["A", "Zorro", "B", "A", "", "B"],
        }
    )
    iv = interviews_from_frame(df, choices=["A", "B"])
    assert dict(iv.unknown_values) == {"Zorro": 1, "": 1}
    assert [p.row for p in iv.problems] == [2, 5]
    est = estimate_exitpoll(iv, pl.DataFrame({"station": ["1", "2"]}))
    assert est.nobs == 4
    # an unknown answer counts as non-response: station weights 3/2 each, shares stay 1/2
    np.testing.assert_allclose(est.estimate, [0.5, 0.5])
    assert any("Zorro" in e for e in est.extra["excluded"])
    with pytest.raises(UnknownNameError, match="row 2"):
        interviews_from_frame(df, choices=["A", "B"], unknown="raise")


def test_records_for_stations_outside_the_frame_or_sample_are_kept_out():
    df, frame = _design(11, n_stations=10)
    extra = pl.DataFrame(
        {"station": ["ghost", "ghost"], "band": ["b0", "b0"], "choice": ["A", "A"]}
    )
    iv = interviews_from_frame(pl.concat([df, extra]), choices=CHOICES)
    est = estimate_exitpoll(iv, frame)
    ref = estimate_exitpoll(interviews_from_frame(df, choices=CHOICES), frame)
    np.testing.assert_allclose(est.estimate, ref.estimate)
    assert est.extra["excluded_stations"] == {"ghost": "not in the frame"}
    sampled = [s for s in frame["station"] if s != "s004"]
    est2 = estimate_exitpoll(iv, frame, sampled=sampled)
    assert est2.extra["excluded_stations"]["s004"] == "not in the sample"


def test_singleton_stratum_is_collapsed_with_a_warning_or_raises():
    df, frame = _design(12, n_stations=9)  # strata h0 (3 stations), h1, h2, h3 (2 each)
    frame = frame.with_columns(
        pl.when(pl.col("station") == "s008")
        .then(pl.lit("lonely"))
        .otherwise(pl.col("stratum"))
        .alias("stratum")
    )
    iv = interviews_from_frame(df, choices=CHOICES)
    with pytest.warns(SaylauWarning, match="one reporting station"):
        est = estimate_exitpoll(iv, frame)
    assert est.extra["collapsed_strata"] == [("lonely", "h3")]
    assert est.n_strata == 4
    with pytest.raises(DataFormatError, match="single reporting station"):
        estimate_exitpoll(iv, frame, singleton="raise")


def test_zero_interviews_and_missing_strata():
    df = pl.DataFrame({"station": ["1", "2"], "choice": ["refused", "dont_know"]})
    iv = interviews_from_frame(df, choices=["A", "B"])
    with pytest.raises(EmptyInputError, match="no interview with a codable choice"):
        estimate_exitpoll(iv, pl.DataFrame({"station": ["1", "2"]}))
    with pytest.raises(EmptyInputError):
        interviews_from_frame(
            pl.DataFrame(
                {"station": [], "choice": []}, schema={"station": pl.Utf8, "choice": pl.Utf8}
            )
        )
    df, frame = _design(13, n_stations=12)
    gone = frame.filter(pl.col("stratum") == "h1")["station"].to_list()
    df = df.filter(~pl.col("station").is_in(gone) | ~pl.col("choice").is_in(CHOICES))
    iv = interviews_from_frame(df, choices=CHOICES)
    with pytest.raises(EmptyInputError, match="no station of this stratum"):
        estimate_exitpoll(iv, frame)
    est = estimate_exitpoll(iv, frame, missing_strata="ignore")
    assert est.extra["strata_not_estimated"] == ["h1"]


def test_read_errors_name_file_row_and_field(tmp_path):
    path = tmp_path / "iv.csv"
    path.write_text("station,band,choice\n1,am,A\n,am,B\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"iv\.csv, row 3, field station"):
        read_interviews(path)
    path.write_text("uik,vote\n1,A\n", encoding="utf-8")
    assert read_interviews(path).choices == ("A",)
    path.write_text("station,band\n1,am\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="missing column 'choice'"):
        read_interviews(path)


def test_estimate_by_stratum_equals_separate_runs():
    df, frame = _design(14, n_stations=16)
    iv = interviews_from_frame(df, choices=CHOICES)
    res = estimate_by_stratum(iv, frame)
    assert sorted(res) == ["h0", "h1", "h2", "h3"]
    for h, est in res.items():
        ids = frame.filter(pl.col("stratum") == h)["station"]
        sub = interviews_from_frame(
            df.filter(pl.col("station").is_in(ids.implode())), choices=CHOICES
        )
        ref = estimate_exitpoll(sub, frame.filter(pl.col("stratum") == h))
        np.testing.assert_allclose(est.estimate, ref.estimate, rtol=1e-12)
        np.testing.assert_allclose(est.cov, ref.cov, rtol=1e-10)
        assert est.df == 3
    with pytest.raises(SaylauInputError, match="national"):
        estimate_by_stratum(iv, frame, margins={"gender": {"f": 1.0}})


def test_station_answers_counts_answers_only():
    df, _ = _design(15, n_stations=3)
    iv = interviews_from_frame(df, choices=CHOICES)
    counts = station_answers(iv)
    expected = df.filter(pl.col("choice").is_in(CHOICES)).group_by("station").len()
    for st, n in expected.iter_rows():
        assert sum(counts[st].values()) == n


def test_tally_bands_without_records_and_tally_per_station():
    rows = pl.DataFrame(
        {
            "station": ["1", "1", "1", "2", "2", "3", "3"],
            "band": ["am", "am", "pm", "am", "pm", "am", "am"],
            "choice": ["A", "B", "A", "B", "B", "A", "B"],
        }
    )
    frame = pl.DataFrame({"station": ["1", "2", "3"]})
    iv = interviews_from_frame(rows, choices=["A", "B"])
    # station 1: 4 approached in "eve" with no record -> its 8 voters spread over 3 answers
    tally = pl.DataFrame(
        {
            "station": ["1", "1", "1", "2", "2", "3"],
            "band": ["am", "pm", "eve", "am", "pm", "am"],
            "approached": [2, 2, 4, 1, 1, 2],
        }
    )
    est = estimate_exitpoll(iv, frame, tally=tally)
    # by hand: station 1 weights am 2/2*8/4 = 2 (A, B), pm 2/1*8/4 = 4 (A); station 2: 1, 1
    # (B, B); station 3: 1, 1 (A, B). A = 2 + 4 + 1 = 7, B = 2 + 1 + 1 + 1 = 5.
    np.testing.assert_allclose(est.estimate, [7 / 12, 5 / 12])
    per_station = pl.DataFrame({"station": ["1", "2", "3"], "approached": [9, 2, 2]})
    est2 = estimate_exitpoll(iv, frame, tally=per_station)
    # station 1: 9 approached / 3 answers = 3 each -> A 6, B 3; stations 2, 3: weight 1
    np.testing.assert_allclose(est2.estimate, [7 / 13, 6 / 13])


def test_satterthwaite_df_closed_forms():
    """(Σ V_h)² / Σ V_h²/(n_h − 1): equal contributions of H strata of two stations give H;
    one stratum carrying all the variance gives n_h − 1 = 1 (Korn & Graubard 1999, §5.2)."""
    rows, strata = [], []
    for h in range(5):  # identical strata: station a has 3 A 1 B, station b 1 A 3 B
        for st, ones in ((f"{h}a", 3), (f"{h}b", 1)):
            rows += [(st, "A")] * ones + [(st, "B")] * (4 - ones)
            strata.append((st, f"h{h}"))
    df = pl.DataFrame(rows, schema=["station", "choice"], orient="row")
    frame = pl.DataFrame(strata, schema=["station", "stratum"], orient="row")
    iv = interviews_from_frame(df, choices=["A", "B"])
    est = estimate_exitpoll(iv, frame, df_method="satterthwaite")
    assert est.df == pytest.approx(5.0)
    assert est.extra["df_design"] == 5.0
    # make every stratum but h0 homogeneous between its two stations
    rows2 = [r for r in rows if r[0].startswith("0")]
    for h in range(1, 5):
        for st in (f"{h}a", f"{h}b"):
            rows2 += [(st, "A")] * 2 + [(st, "B")] * 2
    iv2 = interviews_from_frame(
        pl.DataFrame(rows2, schema=["station", "choice"], orient="row"), choices=["A", "B"]
    )
    est2 = estimate_exitpoll(iv2, frame, df_method="satterthwaite")
    assert est2.df == pytest.approx(1.0)
    assert estimate_exitpoll(iv2, frame).df == 5.0


@settings(max_examples=30, deadline=None)
@given(
    seed=hst.integers(0, 10_000),
    scale=hst.floats(0.01, 0.9),
)
def test_invariants(seed, scale):
    """Shares sum to one, covariance rows sum to zero (shares are a composition), and the
    estimate does not change when every inclusion probability is scaled by the same factor."""
    df, frame = _design(seed, n_stations=12, per_station=10)
    iv = interviews_from_frame(df, choices=CHOICES)
    a = estimate_exitpoll(iv, frame)
    assert a.estimate.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(a.cov.sum(axis=1), 0.0, atol=1e-15)
    b = estimate_exitpoll(iv, frame.with_columns(pl.col("prob") * scale))
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-10)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-8, atol=1e-18)
