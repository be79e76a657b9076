"""CLI command ``saylau calibrate``: how often each alarm rings on clean elections.

Parses options, reads the files, calls :func:`saylau.forensics.calibrate.calibrate` with a
progress bar on stderr, and prints the table (or writes it as JSON); no statistics here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._exceptions import SaylauInputError
from ..forensics.calibrate import POWER_SCENARIOS, CalibrationResult, calibrate
from ..io import read_protocols
from ..results import to_jsonable
from ._app import app, err_console, guarded, out_console, print_json

__all__ = ["calibrate_command"]


def _table(res: CalibrationResult) -> Table:
    tab = Table(title=f"Alarms per run at family-wise level {res.level:g}")
    for col in ("source", "scenario", "runs", "any alarm", "95% interval", *res.methods):
        tab.add_column(col)
    for c in res.cells:
        tab.add_row(
            c.source,
            c.scenario,
            f"{c.runs}",
            f"{c.family} ({c.rate:.1%})",
            f"[{c.interval[0]:.3f}, {c.interval[1]:.3f}]",
            *(f"{c.alarms.get(m, 0)}" for m in res.methods),
        )
    return tab


@app.command("calibrate")
@guarded
def calibrate_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="Real elections whose structure the clean simulations copy."),
    ],
    control: Annotated[
        list[Path] | None,
        typer.Option("--control", help="A real clean election, run once as it is (repeatable)."),
    ] = None,
    runs: Annotated[int, typer.Option("--runs", help="Clean elections per file.")] = 200,
    power_runs: Annotated[
        int, typer.Option("--power-runs", help="Elections per file and fraud scenario (0: none).")
    ] = 50,
    stations: Annotated[
        int | None,
        typer.Option("--stations", help="Stratified subsample of stations per simulated election."),
    ] = None,
    resamples: Annotated[
        int, typer.Option("--resamples", help="Resamples where a method resamples.")
    ] = 200,
    level: Annotated[float, typer.Option("--level", help="Family-wise level of one run.")] = 0.01,
    seed: Annotated[int, typer.Option("--seed", help="First seed of the runs.")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the measured table as JSON here.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help="Only this test method (repeatable; all by default)."),
    ] = None,
) -> None:
    """Measure each alarm's false-alarm rate on clean elections and its power against stuffing.

    Example: ``saylau calibrate russia/2011.csv.zip poland-2020/round1.csv.zip
    --control poland-2020/round1.csv.zip --out calibration.json``
    """
    if runs < 1 or power_runs < 0:
        raise SaylauInputError(
            "runs must be positive", field="--runs", expected=">= 1", found=(runs, power_runs)
        )
    sources = {f"{f.parent.name}/{f.name}": read_protocols(f) for f in files}
    controls = {f"{f.parent.name}/{f.name} (real)": read_protocols(f) for f in control or []}
    total = len(controls) + len(sources) * (runs + power_runs * len(POWER_SCENARIOS))
    with Progress(
        TextColumn("{task.description:<44}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as prog:
        task = prog.add_task("calibrating", total=total)
        res = calibrate(
            sources,
            runs=runs,
            power_runs=power_runs,
            clean_controls=controls,
            level=level,
            stations=stations,
            resamples=resamples,
            seed=seed,
            methods=method or None,
            on_step=lambda what: prog.update(task, advance=1, description=what),
        )
    data = to_jsonable(res)
    if out is not None:
        out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if json_out:
        print_json(data)
        return
    out_console.print(_table(res))
    rates = ", ".join(f"{k} {v:.3f}" for k, v in res.false_alarm_rates.items())
    out_console.print(f"false-alarm rates over {res.clean_runs} clean runs: {rates}")
