"""Voter-list checks on the four Russian federal files, against a plain pandas merge.

Run by hand: ``.venv/bin/python benchmarks/bench_turnout.py``. Times, best of three, in the same
process:

1. reading the four zipped files (2004, 2011, 2012, 2021) with :func:`saylau.io.read_protocols`;
2. :func:`saylau.turnout.voter_list_checks` on the four tables (matching of consecutive
   elections by three rules, four station screens, 994 territory tests with Holm), plus the
   Polish control's calibration;
3. the baseline: a plain pandas merge of consecutive elections on (region lower-cased with
   ё → е, last number of the station field), on the same tables converted to pandas (no
   ambiguity check, no fallback rules, no screens, no tests).

Prints the machine, the times, the ratio and the figures quoted in the README.
"""

from __future__ import annotations

import itertools
import os
import platform
import time
from pathlib import Path

import pandas as pd
import polars as pl

from saylau.io import read_protocols
from saylau.turnout import calibrate_voter_lists, voter_list_checks

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
YEARS = ("2004", "2011", "2012", "2021")


def best(fn, runs: int = 3):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def pandas_merge(frames: list[pd.DataFrame]) -> list[int]:
    keyed = []
    for df in frames:
        k = pd.DataFrame(
            {
                "region": df["region"].str.lower().str.replace("ё", "е"),
                "uik": df["uik"].astype(str).str.extract(r"(\d+)\D*$")[0].astype(float),
                "reg": df["voters_on_list"],
            }
        )
        keyed.append(k)
    return [len(a.merge(b, on=["region", "uik"])) for a, b in itertools.pairwise(keyed)]


def main() -> None:
    print(
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, polars {pl.__version__}, pandas {pd.__version__}"
    )
    paths = [DATA / "russia" / f"{y}.csv.zip" for y in YEARS]
    t_read, tables = best(lambda: [read_protocols(p) for p in paths], runs=1)
    poland = read_protocols(DATA / "poland-2020" / "round1.csv.zip")

    def ours():  # type: ignore[no-untyped-def]
        cal = calibrate_voter_lists(poland, by="district")
        return voter_list_checks(tables, names=YEARS, calibration=cal)

    t_ours, res = best(ours)
    frames = [t.frame.select("region", "uik", "voters_on_list").to_pandas() for t in tables]
    t_base, merged = best(lambda: pandas_merge(frames))
    print(f"read four files: {t_read:.2f} s")
    print(
        f"saylau checks + calibration: {t_ours:.2f} s; pandas merge only: {t_base:.2f} s; "
        f"ratio {t_ours / t_base:.1f}"
    )
    print(f"total (read + checks): {t_read + t_ours:.2f} s")
    for (key, m), n in zip(res.matches.items(), merged, strict=True):
        print(
            f"{key}: matched {m.matched:,} ({m.share_a:.1%} / {m.share_b:.1%}), "
            f"by rule {m.by_rule}; pandas merge {n:,}"
        )
    cal = res.calibration
    assert cal is not None
    print(f"Polish control: {cal.alarms} alarms in {cal.tests} territory tests")
    print(f"territory alarms: {res.estimate} of {res.tests} ({res.finding.correction})")
    alarms = res.territories.filter(pl.col("alarm"))
    print(alarms.group_by("check").agg(pl.len(), pl.col("territory").n_unique().alias("terr")))
    for check in ("turnout_99", "list_jump"):
        top = alarms.filter(pl.col("check") == check).sort("pvalue").head(6)
        print(
            check,
            [
                (r["election"], r["territory"], r["flagged"], r["stations"])
                for r in top.iter_rows(named=True)
            ],
        )


if __name__ == "__main__":
    main()
