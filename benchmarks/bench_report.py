"""The full evidence report on a 95,000-station election, next to the forensic battery alone.

Run by hand: ``.venv/bin/python benchmarks/bench_report.py [FILE] [--lang kk]``
(default FILE: ``../shared/data/russia/2011.csv.zip``, 95,225 stations, rule set
``ru-duma-2011`` for the seats).

Every section that applies is built: results and seats under the rule set, protocol checks,
observer copies (2,000 stations, the official protocols with 100 of them altered), a quick
count (a stratified sample of 1,500 stations by region, honest reports), an exit poll
(simulated on the election, 300 stations), incidents (the 682 St Petersburg 2021 reports of
``../shared/data/spb-2021-incidents``, as a table of realistic size), the forensics with the
bundled reference. The forensic battery alone is timed first in the same process, with the
same seed and defaults: the baseline the report's cost is read against. The output lists
the time of each step and section, the totals, and the ratio report / battery.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from saylau.forensics.battery import run_forensics
from saylau.io import read_protocols
from saylau.report import prepare_report, write_report

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_FILE = DATA / "russia" / "2011.csv.zip"


def _inputs(table: object, folder: Path) -> dict[str, object]:
    from saylau.domain.table import ProtocolTable
    from saylau.survey import draw_sample, frame_from_table, simulate_exitpoll_on

    assert isinstance(table, ProtocolTable)
    frame = table.frame
    lead = table.leader().id
    copies = frame.sample(2000, seed=1)
    first = pl.int_range(pl.len()) < 100
    copies = copies.with_columns(
        pl.when(first).then(pl.col(lead) + 30).otherwise(pl.col(lead)).alias(lead)
    )
    copies.write_csv(folder / "copies.csv")
    draw = draw_sample(frame_from_table(table), n=1500, strata=["region"], rng=3)
    (folder / "draw.json").write_text(json.dumps(draw.to_record(), ensure_ascii=False))
    frame.filter(pl.col("station").is_in(list(draw.stations))).write_csv(folder / "qc.csv")
    sim = simulate_exitpoll_on(table, n_sampled=300, per_station=40, rng=2)
    sim.interviews.data.select("station", "band", pl.col("answer").alias("choice")).write_csv(
        folder / "exitpoll.csv"
    )
    sim.frame.write_csv(folder / "exitpoll-frame.csv")
    assert sim.tally is not None
    sim.tally.write_csv(folder / "exitpoll-tally.csv")
    return {
        "copies": folder / "copies.csv",
        "quick_count": folder / "qc.csv",
        "quick_count_sample": folder / "draw.json",
        "exit_poll": folder / "exitpoll.csv",
        "exit_poll_frame": folder / "exitpoll-frame.csv",
        "exit_poll_strata": ["stratum"],
        "exit_poll_tally": folder / "exitpoll-tally.csv",
        "strata": ["region"],
        "incidents": DATA / "spb-2021-incidents" / "violations_map_spb_2021.jsonl",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--rules", default="ru-duma-2011")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, file {args.file.name}")
    start = time.perf_counter()
    table = read_protocols(args.file)
    read_s = time.perf_counter() - start
    print(f"read: {table.stations:,} stations in {read_s:.1f} s")

    start = time.perf_counter()
    battery = run_forensics(table, seed=0)
    battery_s = time.perf_counter() - start
    print(f"forensic battery alone (baseline): {battery_s:.1f} s")
    for name, sec in battery.timings.items():
        print(f"  {name:<22} {sec:6.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        extra = _inputs(table, folder)
        start = time.perf_counter()
        data = prepare_report(args.file, rules=args.rules, seed=0, **extra)  # type: ignore[arg-type]
        res = write_report(data, out=folder / "out", lang=args.lang)
        report_s = time.perf_counter() - start
        assert res.pdf is not None
        sizes = (res.html.stat().st_size / 1e6, res.pdf.stat().st_size / 1e6)
    print(
        f"full report ({args.lang}, HTML and PDF, sections {', '.join(res.sections)}): "
        f"{report_s:.1f} s (reading included)"
    )
    for name, sec in res.timings.items():
        print(f"  {name:<22} {sec:6.2f} s")
    print(f"HTML {sizes[0]:.1f} MB, PDF {sizes[1]:.1f} MB, {res.figures} figures")
    print(
        f"report / battery alone: {report_s / battery_s:.2f}; report beyond the battery it "
        f"contains: {report_s - res.timings.get('forensics', 0.0):.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
