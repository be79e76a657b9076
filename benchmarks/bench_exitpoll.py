"""Exit-poll estimate on 1,000,000 interview rows, against a pandas baseline and svy.

Run by hand: ``.venv/bin/python benchmarks/bench_exitpoll.py [ROWS]``. A simulated poll of 2,000
stations in 20 strata (unequal inclusion probabilities), three time bands, ten choices plus
refusals and don't-knows. Timed, best of three, in the same process:

* saylau: :func:`interviews_from_frame` (coding, identifying-column check) +
  :func:`estimate_exitpoll` (station × band non-response weights, reporting adjustment, ratio
  estimates, stratified cluster covariance, design effects);
* baseline: a straightforward pandas transcription of the same formulas (``groupby`` for the
  weights and station totals, an explicit Python loop over strata and stations for the
  covariance);
* the same two from a CSV file of the records (read as text by both);
* svy (reference only): ``Sample.estimation.prop`` with the weights saylau computed, i.e. the
  variance step alone.

All three give the same shares and covariance (checked).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from saylau.survey.exitpoll import estimate_exitpoll, interviews_from_frame, read_interviews

CHOICES = [f"Party {i}" for i in range(1, 10)] + ["Против всех"]


def make_data(rows: int, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    n_st = 2000
    station = np.array([f"{i:05d}" for i in range(n_st)])
    stratum = np.array([f"R{i % 20:02d}" for i in range(n_st)])
    prob = rng.uniform(0.02, 0.2, n_st)
    pref = rng.dirichlet(np.linspace(3, 0.3, len(CHOICES)) * 3, n_st)
    s = rng.integers(0, n_st, rows)
    u = rng.random(rows)
    ch = (u[:, None] > pref.cumsum(axis=1)[s]).sum(axis=1).clip(max=len(CHOICES) - 1)
    status = rng.choice(3, size=rows, p=[0.72, 0.25, 0.03])
    labels = np.array([*CHOICES, "refused", "dont_know"], dtype=object)
    code = np.where(status == 0, ch, len(CHOICES) + status - 1)
    records = pl.DataFrame(
        {
            "station": station[s],
            "band": np.array(["08-12", "12-16", "16-20"])[rng.integers(0, 3, rows)],
            "choice": labels[code].astype(str),
        }
    )
    frame = pl.DataFrame({"station": station, "stratum": stratum, "prob": prob})
    return records, frame


def run_saylau(records: pl.DataFrame, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    est = estimate_exitpoll(interviews_from_frame(records, choices=CHOICES), frame)
    return est.estimate, est.cov


def run_pandas(records: pd.DataFrame, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    df = records.copy()
    df["answer"] = df["choice"].isin(CHOICES)
    g = df.groupby(["station", "band"]).agg(approached=("choice", "size"), m=("answer", "sum"))
    g = g.reset_index()
    st = g.groupby("station").agg(A_s=("approached", "sum"))
    st["A_ans"] = g[g["m"] > 0].groupby("station")["approached"].sum()
    g = g.merge(st, left_on="station", right_index=True)
    g["a"] = np.where(g["m"] > 0, g["approached"] / g["m"].clip(lower=1) * g["A_s"] / g["A_ans"],
                      0.0)  # fmt: skip
    fr = frame.set_index("station")
    sampled = set(df["station"])
    reported = set(df.loc[df["answer"], "station"])
    adj = {}
    for h, sub in fr[fr.index.isin(sampled)].groupby("stratum"):
        tot = (1 / sub["prob"]).sum()
        rep = (1 / sub.loc[sub.index.isin(reported), "prob"]).sum()
        adj[h] = tot / rep
    ans = df[df["answer"]].merge(g[["station", "band", "a"]], on=["station", "band"])
    ans = ans.join(fr, on="station")
    ans["w"] = 1 / ans["prob"] * ans["stratum"].map(adj) * ans["a"]
    total = ans["w"].sum()
    dummies = pd.get_dummies(ans["choice"])[CHOICES].astype(float)
    yw = dummies.mul(ans["w"], axis=0)
    p = yw.sum().to_numpy() / total
    ywt = yw.groupby(ans["station"]).sum()
    xw = ans.groupby("station")["w"].sum()
    z = (ywt.to_numpy() - np.outer(xw.to_numpy(), p)) / total
    strata = fr.loc[ywt.index, "stratum"].to_numpy()
    cov = np.zeros((len(CHOICES), len(CHOICES)))
    for h in np.unique(strata):  # explicit loop over strata and stations
        zs = z[strata == h]
        n = len(zs)
        mean = zs.mean(axis=0)
        for row in zs:
            d = row - mean
            cov += n / (n - 1) * np.outer(d, d)
    return p, cov


def best_of(fn, *args, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, polars {pl.__version__}, numpy {np.__version__}"
    )
    records, frame = make_data(rows)
    print(f"data: {records.height:,} interview rows, {frame.height} stations, 20 strata")
    t_s, (p_s, c_s) = best_of(run_saylau, records, frame)
    pdr, pdf = records.to_pandas(), frame.to_pandas()
    t_p, (p_p, c_p) = best_of(run_pandas, pdr, pdf)
    assert np.allclose(p_s, p_p, rtol=1e-10) and np.allclose(c_s, c_p, rtol=1e-8, atol=1e-16)
    print(f"saylau (coding + weights + estimate): {t_s:.2f} s")
    print(f"pandas groupby + explicit loop:       {t_p:.2f} s")
    print(f"ratio baseline / saylau:              {t_p / t_s:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "interviews.csv"
        records.write_csv(csv)
        t_r, _ = best_of(lambda: estimate_exitpoll(read_interviews(csv, choices=CHOICES), frame))
        t_rp, _ = best_of(lambda: run_pandas(pd.read_csv(csv, dtype=str), pdf))
    print(f"from a CSV file: saylau {t_r:.2f} s, pandas read_csv + baseline {t_rp:.2f} s")
    try:
        import svy
    except ImportError:  # pragma: no cover
        return
    ans = records.filter(pl.col("choice").is_in(CHOICES))
    # svy on the same weights, computed once with saylau's formulas written in polars
    est = estimate_exitpoll(interviews_from_frame(records, choices=CHOICES), frame)
    weights = _saylau_weights(records, frame)
    data = ans.join(frame, on="station").with_columns(pl.Series("w", weights))

    def svy_prop() -> np.ndarray:
        s = svy.Sample(data, svy.Design(stratum="stratum", psu="station", wgt="w"))
        return np.asarray(s.estimation.prop("choice").covariance)

    t_v, cov_v = best_of(svy_prop)
    order = sorted(range(len(CHOICES)), key=lambda i: CHOICES[i])
    assert np.allclose(est.cov[np.ix_(order, order)], cov_v, rtol=1e-6, atol=1e-14)
    print(f"svy prop, variance step only (reference): {t_v:.2f} s")


def _saylau_weights(records: pl.DataFrame, frame: pl.DataFrame) -> np.ndarray:
    """Answer weights in the row order of the answers (same formulas as the baseline)."""
    df = records.with_columns(pl.col("choice").is_in(CHOICES).alias("answer"))
    g = df.group_by(["station", "band"]).agg(
        pl.len().alias("approached"), pl.col("answer").sum().alias("m")
    )
    st = g.group_by("station").agg(
        pl.col("approached").sum().alias("A_s"),
        pl.col("approached").filter(pl.col("m") > 0).sum().alias("A_ans"),
    )
    g = g.join(st, on="station").with_columns(
        (pl.col("approached") / pl.col("m") * pl.col("A_s") / pl.col("A_ans")).alias("a")
    )
    sampled = frame.filter(pl.col("station").is_in(df["station"].unique().implode()))
    rep_ids = df.filter(pl.col("answer"))["station"].unique().implode()
    adj = sampled.group_by("stratum").agg(
        (1 / pl.col("prob")).sum().alias("tot"),
        (1 / pl.col("prob")).filter(pl.col("station").is_in(rep_ids)).sum().alias("rep"),
    )
    ans = (
        df.with_row_index("i")
        .filter(pl.col("answer"))
        .join(g.select("station", "band", "a"), on=["station", "band"])
        .join(frame, on="station")
        .join(adj, on="stratum")
        .sort("i")
    )
    return (1 / ans["prob"] * ans["tot"] / ans["rep"] * ans["a"]).to_numpy()


if __name__ == "__main__":
    main()
