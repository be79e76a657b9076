"""Quick count: estimate + seat projection, and the coverage study, against loop baselines.

Run by hand: ``.venv/bin/python benchmarks/bench_survey.py [DRAWS]``. Two timings, each with a
baseline measured in the same process:

1. Quick count on a 2,000-station stratified sample (80 strata) of a simulated election with
   ten choices (Against all included) — :func:`quick_count` (validation, exclusion rules,
   weights, ratio estimates, full linearised covariance, turnout) — plus 10,000 seat-projection
   draws through :func:`project_seats` (multivariate t draws, vectorised
   ``allocate_many``). Baseline: the same estimator written as plain Python loops over strata
   and stations, and the seat rule applied draw by draw with the exact scalar
   :func:`saylau.tabulate.seats.allocate` (the natural way to write it). Target: under a
   second for saylau.
2. The coverage study at its default size on the Russian 2004 file (95,779 stations, 91
   regions): 1,000 stratified samples of 1,000 stations, each estimated and checked,
   vectorised over draws (:func:`coverage_study`). Baseline: one sample at a time, each
   estimated by :func:`quick_count` (timed on 50 draws, scaled to the same number).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from rich.progress import Progress

from saylau.domain.table import ProtocolTable
from saylau.survey.coverage import coverage_study
from saylau.survey.frame import SamplingFrame
from saylau.survey.projection import project_seats
from saylau.survey.quickcount import quick_count
from saylau.survey.sample import draw_sample
from saylau.tabulate.seats import allocate

CHOICES = [f"Party {i}" for i in range(1, 10)] + ["Против всех"]
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_population(stations: int = 100_000, seed: int = 1) -> pl.DataFrame:
    g = np.random.default_rng(seed)
    region = g.integers(0, 80, stations)
    lean = g.dirichlet(np.ones(len(CHOICES)) * 2, size=80)
    reg = g.integers(200, 3000, stations)
    issued = (reg * g.uniform(0.3, 0.9, stations)).astype(np.int64)
    invalid = g.integers(0, 20, stations)
    probs = np.array([g.dirichlet(lean[r] * 50) for r in region])
    votes = np.array([g.multinomial(n, p) for n, p in zip(issued - invalid, probs, strict=True)])
    return pl.DataFrame(
        {
            "station": [f"{i:06d}" for i in range(stations)],
            "region": [f"R{r:02d}" for r in region],
            "voters_on_list": reg,
            "issued": issued,
            "invalid": invalid,
            "valid": votes.sum(axis=1),
            **{c: votes[:, k] for k, c in enumerate(CHOICES)},
        }
    )


def loop_quick_count(
    rows: list[dict], pop: dict[str, int]
) -> tuple[list[float], list[list[float]]]:
    """The combined ratio estimator and its covariance, in plain Python loops."""
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["region"], []).append(r)
    k = len(CHOICES)
    y_hat = [0.0] * k
    x_hat = 0.0
    for h, rs in by.items():
        w = pop[h] / len(rs)
        for r in rs:
            x = sum(r[c] for c in CHOICES)
            x_hat += w * x
            for j, c in enumerate(CHOICES):
                y_hat[j] += w * r[c]
    est = [v / x_hat for v in y_hat]
    cov = [[0.0] * k for _ in range(k)]
    for h, rs in by.items():
        n = len(rs)
        w = pop[h] / n
        fac = (1 - n / pop[h]) * n / (n - 1)
        us = []
        for r in rs:
            x = sum(r[c] for c in CHOICES)
            us.append([w * (r[c] - est[j] * x) / x_hat for j, c in enumerate(CHOICES)])
        mean = [sum(u[j] for u in us) / n for j in range(k)]
        for u in us:
            for a in range(k):
                da = u[a] - mean[a]
                for b in range(k):
                    cov[a][b] += fac * da * (u[b] - mean[b])
    return est, cov


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def bench_quick_count() -> None:
    pop_df = make_population()
    frame = SamplingFrame.from_frame(
        pop_df.select("station", pl.col("voters_on_list").alias("registered"), "region")
    )
    draw = draw_sample(frame, n=2000, strata=["region"], rng=7)
    sub = pop_df.filter(pl.col("station").is_in(list(draw.stations)))
    reports = ProtocolTable.from_frame(sub, profile="plain", choices=CHOICES, levels=["region"])

    def ours() -> object:
        qc = quick_count(reports, frame=frame, sample=draw)
        return qc, project_seats(
            qc.shares, seats=100, method="hare", threshold=0.05, draws=10_000, rng=1
        )

    t_ours, (qc, proj) = best(ours)  # type: ignore[misc]
    rows = sub.to_dicts()

    def loop_est() -> object:
        return loop_quick_count(rows, dict(draw.population))

    t_loop_est, (est_l, cov_l) = best(loop_est, repeat=1)  # type: ignore[misc]
    assert np.allclose(est_l, qc.shares.estimate, rtol=1e-10)
    assert np.allclose(cov_l, qc.shares.cov, rtol=1e-7, atol=1e-16)
    sims = (
        np.random.default_rng(1)
        .multivariate_normal(qc.shares.estimate, qc.shares.cov, size=10_000, method="eigh")
        .clip(0)
    )
    t0 = time.perf_counter()
    n_loop = 1000
    for row in sims[:n_loop]:
        allocate(
            {c: round(float(v) * 1e7) for c, v in zip(CHOICES, row, strict=True)},
            seats=100,
            method="hare",
            threshold=0.05,
        )
    t_loop_seats = (time.perf_counter() - t0) * 10_000 / n_loop
    t_base = t_loop_est + t_loop_seats
    print("1. quick count, 2,000 stations x 10 choices + 10,000 seat-projection draws")
    print(
        f"   saylau:   {t_ours:8.3f} s (best of 3)  target < 1 s: {'yes' if t_ours < 1 else 'NO'}"
    )
    print(
        f"   baseline: {t_base:8.3f} s (loop estimator {t_loop_est:.3f} s + scalar seat rule "
        f"{t_loop_seats:.3f} s, timed on {n_loop} draws and scaled)"
    )
    print(f"   ratio baseline/saylau: {t_base / t_ours:.1f}x; same estimate and covariance: yes")
    print(
        f"   seats of Party 1 at the estimate {proj.point[0]}, range {proj.low[0]}-{proj.high[0]}"
    )


def bench_coverage(draws: int) -> None:
    from saylau.io import read_protocols

    path = DATA / "russia" / "2004.csv.zip"
    if not path.exists():
        print(f"2. coverage study skipped: {path} not available")
        return
    table = read_protocols(path)
    with Progress(transient=True) as bar:
        task = bar.add_task("coverage study", total=draws)
        t0 = time.perf_counter()
        cov = coverage_study(
            table,
            n=1000,
            strata=["region"],
            draws=draws,
            rng=2004,
            progress=lambda done, total: bar.update(task, completed=done),
        )
        t_ours = time.perf_counter() - t0
    # baseline: one sample at a time through quick_count
    labels = table.frame.get_column("region").to_numpy()
    keys, counts = np.unique(labels, return_counts=True)
    from saylau.survey.sample import allocate_sample

    alloc = allocate_sample(
        1000,
        {str(k): float(c) for k, c in zip(keys, counts, strict=True)},
        {str(k): int(c) for k, c in zip(keys, counts, strict=True)},
    )
    rows_of = {str(k): np.flatnonzero(labels == k) for k in keys}
    g = np.random.default_rng(1)
    n_base = 50
    t0 = time.perf_counter()
    for _ in range(n_base):
        pick = np.concatenate([g.choice(rows_of[h], alloc[h], replace=False) for h in alloc])
        mask = np.zeros(table.stations, dtype=bool)
        mask[pick] = True
        quick_count(table.filter(mask), frame=table, strata=["region"])
    t_base = (time.perf_counter() - t0) * draws / n_base
    print(f"2. coverage study, Russia 2004, {draws} samples of 1,000 stations in 91 regions")
    print(f"   saylau:   {t_ours:8.2f} s (vectorised over draws)")
    print(f"   baseline: {t_base:8.2f} s (quick_count per sample, timed on {n_base}, scaled)")
    print(f"   ratio baseline/saylau: {t_base / t_ours:.1f}x")
    aa = cov.choices.index("Против всех")
    lo, hi = float(cov.coverage.min()), float(cov.coverage.max())
    print(
        f"   coverage of the 95% intervals over 7 choices: {lo:.3f}-{hi:.3f}; "
        f"Against all {cov.coverage[aa]:.3f}"
    )


def main() -> None:
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    bench_quick_count()
    bench_coverage(draws)


if __name__ == "__main__":
    main()
