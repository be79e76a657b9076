"""The quick-count coverage sweep behind ``survey_coverage_sweep.json`` (run by hand).

Real elections of ``../shared/data`` are the populations (their full files: the true shares
are known); each cell draws ``draws`` stratified (by region) samples of ``n`` stations, SRS or
PPS by registered voters, drops each sampled station with probability ``nonresponse`` (missing
at random), estimates with :func:`saylau.survey.quickcount.quick_count` and counts how often
the default ("auto") 95% interval holds the true share. Seeds: cell *i* of the grid (in the
order written to the file) uses ``seed + i``. Command, from the repository root::

    PYTHONPATH=src python tests/results/survey_coverage_sweep.py --draws 200 \\
        --out tests/results/survey_coverage_sweep.json

The pass band of a cell is the 99% band of Binomial(draws, 0.95) / draws, written in the file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
POPULATIONS = (
    "russia/2004.csv.zip",
    "russia/2011.csv.zip",
    "russia/2021.csv.zip",
    "poland-2020/round1.csv.zip",
)
GRID = [(n, m, nr) for n in (300, 1500) for m in ("srs", "pps") for nr in (0.0, 0.2)]


def band(draws: int) -> list[float]:
    """The 99% band of Binomial(draws, 0.95) / draws."""
    return [
        float(stats.binom.ppf(0.005, draws, 0.95) / draws),
        float(stats.binom.ppf(0.995, draws, 0.95) / draws),
    ]


def main() -> None:
    from saylau.io import read_protocols
    from saylau.survey.coverage import coverage_study

    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--seed", type=int, default=8000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", default="", help="run only populations containing this text")
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    ap.add_argument("--skip", default="", help="cells already run, as population:grid indices")
    ap.add_argument("--cells", default="", help="run only these grid indices (comma-separated)")
    args = ap.parse_args()
    cells = []
    # the cell's seed is fixed by its place in the full grid (population-major), whatever
    # order the cells run in; the cells run first where coverage was in doubt (non-response)
    plan = [
        (p, g)
        for g in sorted(range(len(GRID)), key=lambda k: (GRID[k][2] == 0.0, GRID[k][0], k))
        for p in range(len(POPULATIONS))
        if not args.only or args.only in POPULATIONS[p]
    ]
    if args.cells:
        plan = [c for c in plan if str(c[1]) in args.cells.split(",")]
    if args.skip:
        plan = [c for c in plan if f"{c[0]}:{c[1]}" not in args.skip.split(",")]
    tables: dict[int, Any] = {}
    for p, g in plan:
        pop = POPULATIONS[p]
        n, method, nr = GRID[g]
        seed = args.seed + p * len(GRID) + g
        draws = args.draws if n <= 300 else max(args.draws // 2, 1)  # 1,500 stations: half
        if p not in tables:
            tables = {p: read_protocols(args.data / pop)}
        table = tables[p]
        t0 = time.time()
        cov = coverage_study(
            table, n=n, draws=draws, method=method, nonresponse=nr,  # type: ignore[arg-type]
            interval="auto", rng=seed,
        )  # fmt: skip
        lo, hi = band(draws)
        cells.append(
            {
                "population": pop,
                "n": n,
                "method": method,
                "nonresponse": nr,
                "draws": draws,
                "seed": seed,
                "interval": "auto",
                "choices": list(cov.choices),
                "truth": np.round(cov.truth, 5).tolist(),
                "coverage": np.round(cov.coverage, 3).tolist(),
                "se_ratio": np.round(cov.se_ratio, 3).tolist(),
                "bias_over_sd": np.round(cov.bias / cov.empirical_sd, 3).tolist(),
                "band": [round(lo, 3), round(hi, 3)],
                "within_band": bool(np.all((cov.coverage >= lo) & (cov.coverage <= hi))),
                "take_all": cov.take_all,
                "seconds": round(time.time() - t0),
            }
        )
        print(json.dumps(cells[-1], ensure_ascii=False), flush=True)
        args.out.write_text(
            json.dumps({"_about": __doc__, "cells": cells}, ensure_ascii=False, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
