"""The ``saylau demo`` job: every capability on the bundled sample, outputs written to a folder.

Kept apart from the CLI so that tests can call it; it writes files and prints through the
console it is given, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from .domain.checks import validate
from .forensics.battery import run_forensics
from .io import read_protocols, read_votes_csv, sample_path
from .results import to_jsonable
from .tabulate.aggregate import tabulate
from .tabulate.seats import allocate_by_rules

__all__ = ["run_demo"]


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2), encoding="utf-8")


def run_demo(out: Path, *, console: Console, progress: Progress) -> dict[str, Path]:
    """Validate, tabulate, allocate seats and run forensics on the bundled data.

    Returns the paths written, by name.
    """
    written: dict[str, Path] = {}
    src = sample_path()
    with progress:
        task = progress.add_task("reading the sample", total=None)
        table = read_protocols(src)
        progress.update(task, description="checking protocols")
        report = validate(table)
        progress.update(task, description="tabulating")
        tab = tabulate(table, level="region", rules="ru-president-2004", base="cast")
    console.print(
        f"[bold]saylau demo[/] on {src.name}: {table.stations:,} polling stations, "
        f"{len(table.levels)} levels ({', '.join(table.levels)}), profile {table.profile.name}"
    )
    console.print(
        f"protocol checks: {report.ok:,} ok, {report.soft_failed:,} soft-failed, "
        f"{report.failed:,} failed"
    )
    for name, info in report.by_relation.items():
        if info["violations"]:
            console.print(
                f"  {name}: {info['violations']} ({'strict' if info['strict'] else 'soft'})"
            )
    nat = tab.national
    aa = table.against_all
    leader = table.leader()
    console.print(
        f"turnout {nat['turnout']:.2%}; {leader.name} {nat['share:' + leader.id]:.2%}"
        + (f"; Against all {nat['share:' + aa.id]:.2%}" if aa else "")
        + " of ballots cast"
    )
    if tab.outcome is not None:
        o = tab.outcome
        console.print(
            f"rules {o.rules}: election {'valid' if o.valid_election else 'FAILED'}"
            + (f", winner {o.winner}" if o.winner else "")
        )
    written["validation"] = out / "validation.json"
    _write_json(written["validation"], report)
    written["tabulation"] = out / "tabulation-by-region.csv"
    tab.units.write_csv(written["tabulation"])
    written["totals"] = out / "totals.json"
    _write_json(written["totals"], {"national": tab.national, "outcome": tab.outcome})
    votes = read_votes_csv(sample_path("kz-mazhilis-2023.csv"))
    seats = allocate_by_rules(votes, "kz-mazhilis-2023")
    won = ", ".join(f"{k} {v}" for k, v in seats.seats.items() if v)
    console.print(
        f"Kazakhstan Mazhilis 2023 party lists (69 seats, 5% with Against all in the base): {won}"
    )
    written["seats"] = out / "kz-mazhilis-2023-seats.json"
    _write_json(written["seats"], seats)
    with progress:
        task = progress.add_task("forensics (seed 0)", total=None)
        forensic = run_forensics(table, seed=0)
        progress.update(task, description="figures")
        from .report.forensics_plots import save_forensics_plots
        from .report.forensics_text import report_lines

        figures = save_forensics_plots(forensic, table, out / "figures")
    console.print("forensics (each figure with its finding):")
    for line in report_lines(forensic)[2:]:
        console.print(f"  {line}", soft_wrap=True, markup=False)
    written["forensics"] = out / "forensics.json"
    _write_json(written["forensics"], forensic.to_dict())
    for fig in figures:
        written[f"figure {fig.stem}"] = fig
    from .report import prepare_report, write_report
    from .report.locale import LANGUAGES

    with progress:
        task = progress.add_task("evidence report", total=len(LANGUAGES))
        data = prepare_report(src, forensics=forensic, seed=0)  # the battery is not run again
        for lang in LANGUAGES:
            progress.update(task, description=f"evidence report ({lang})")
            res = write_report(data, out=out / "report", lang=lang)
            written[f"report ({lang}, HTML)"] = res.html
            if res.pdf is not None:
                written[f"report ({lang}, PDF)"] = res.pdf
            progress.advance(task)
    console.print(
        "evidence report in Kazakh, Russian and English (HTML and PDF), beside the same "
        f"figures for a clean control ({data.reference_source})"
    )
    console.print("outputs:")
    for name, path in written.items():
        console.print(f"  {name}: {path.resolve()}")
    return written
