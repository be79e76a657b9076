"""Load + validate + tabulate the full Russian 2011 file, against a plain pandas baseline.

Run by hand: ``.venv/bin/python benchmarks/bench_foundation.py [FILE]``. Both pipelines do the
same work: read the zipped CSV, check the three strict and four soft control relations of the
2011 layout for every station, and total votes by region. Best of three runs each, measured in
the same process, with the machine printed.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd

from saylau.domain.checks import validate
from saylau.io import read_protocols
from saylau.tabulate.aggregate import tabulate

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "russia" / "2011.csv.zip"


def saylau_pipeline(path: Path) -> tuple[int, int]:
    table = read_protocols(path)
    report = validate(table)
    tab = tabulate(table, level="region")
    return report.failed + report.soft_failed, tab.units.height


def pandas_pipeline(path: Path) -> tuple[int, int]:
    """A straightforward pandas transcription: positional columns, the same relations."""
    with zipfile.ZipFile(path) as zf:
        df = pd.read_csv(zf.open(zf.namelist()[0]))
    c = df.columns
    lines = dict(
        zip(
            ["list", "recv", "early", "inst", "outs", "canc", "mob", "stat", "inv", "val"],
            c[3:13],
            strict=True,
        )
    )
    lost, notrec = c[19], c[20]
    choices = [x for x in c[21:] if x != "url"]
    d = {k: df[v] for k, v in lines.items()}
    issued = d["early"] + d["inst"] + d["outs"]
    strict = (
        (d["recv"] != issued + d["canc"] + df[lost] - df[notrec])
        | (d["mob"] + d["stat"] != d["inv"] + d["val"])
        | (d["val"] != df[choices].sum(axis=1))
    )
    soft = (
        (d["list"] < issued)
        | (issued < d["mob"] + d["stat"])
        | (d["early"] + d["outs"] < d["mob"])
        | (d["inst"] < d["stat"])
    )
    by_region = df.groupby("region")[[lines["list"], *choices]].sum()
    return int((strict | soft).sum()), len(by_region)


def best_of(fn, path: Path, runs: int = 3) -> tuple[float, tuple[int, int]]:  # type: ignore[no-untyped-def]
    times, out = [], (0, 0)
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn(path)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        print(f"{path} not found")
        return 1
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    t_s, out_s = best_of(saylau_pipeline, path)
    t_p, out_p = best_of(pandas_pipeline, path)
    print(f"file: {path.name}")
    print(f"saylau  load+validate+tabulate: {t_s:6.2f} s  (flagged stations, regions) = {out_s}")
    print(f"pandas  same checks (baseline): {t_p:6.2f} s  (flagged stations, regions) = {out_p}")
    print(f"ratio saylau / pandas: {t_s / t_p:.2f}")
    if out_s != out_p:
        print("MISMATCH between the two pipelines")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
