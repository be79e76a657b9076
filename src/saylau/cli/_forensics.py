"""CLI command ``saylau forensics``: every forensic method on one precinct file.

Parses options, reads the file, calls the methods of :mod:`saylau.forensics` and renders their
results as JSON (``--json``) or as plain text; no statistics here. A progress bar runs on stderr
while the methods work (never on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .._exceptions import EmptyInputError, SaylauInputError
from ..domain.table import ProtocolTable
from ..forensics.battery import DEFAULT_LEVEL, ForensicsReport, run_forensics
from ..io import read_protocols
from ..report.forensics_text import report_lines
from ._app import app, err_console, guarded, out_console, print_json
from ._columns import ColumnsOpt, EncodingOpt, SheetOpt, SkipRowsOpt, reading
from ._keptout import kept_out_json, print_kept_out
from ._paths import output_folder

__all__ = ["forensics_command"]


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not enabled,
    )


def _print_text(report: ForensicsReport) -> None:
    for line in report_lines(report):
        alarm = line.startswith("ALARM") or "— ALARM" in line
        out_console.print(line, style="bold red" if alarm else None, soft_wrap=True, markup=False)
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)


@app.command("forensics")
@guarded
def forensics_command(
    file: Annotated[Path, typer.Argument(help="Precinct file any saylau reader can read.")],
    leader: Annotated[
        str | None, typer.Option("--leader", help="Leading choice (default: most votes).")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Also report every method per unit of this level (fingerprint: baseline only; "
            "coarse shares: at most 200 resamples per unit).",
        ),
    ] = None,
    peak_bin: Annotated[
        int | None, typer.Option("--peak-bin", help="Shpilkin's clean peak bin (0-99).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the resampling.")] = 0,
    resamples: Annotated[
        int, typer.Option("--resamples", help="Resamples where a method resamples.")
    ] = 1000,
    drop_oversized: Annotated[
        bool,
        typer.Option("--drop-oversized", help="Leave out rows with >= 10,000 registered voters."),
    ] = False,
    level: Annotated[
        float,
        typer.Option(
            "--level",
            help="Family-wise false-alarm level of the run (Holm over the test methods).",
        ),
    ] = DEFAULT_LEVEL,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
    plots: Annotated[
        Path | None, typer.Option("--plots", help="Write the figures into this folder.")
    ] = None,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
) -> None:
    """Election forensics on one precinct file: integer peaks, Shpilkin, fingerprint, coarse
    shares, digit tests, small counts.

    Example: ``saylau forensics russia-2012.csv.zip --by region --json``
    """
    if resamples < 1:
        raise SaylauInputError(
            "resamples must be positive", field="--resamples", expected=">= 1", found=resamples
        )
    if plots is not None:
        output_folder(plots, option="--plots")
    show = err_console.is_terminal
    with _progress(show) as prog:
        task = prog.add_task(f"reading {file.name}", total=None)
        table = read_protocols(file, **reading(columns, encoding, sheet, skip_rows))
        if table.stations == 0:
            print_kept_out(err_console, table.rejected, table.no_data)
            raise EmptyInputError(
                "no station left to analyse", file=str(file), expected="a row read in full"
            )
        if drop_oversized:
            from ..forensics import station_quality

            table = table.filter(~station_quality(table).mask("oversized"))
        steps = 8 + (1 if by else 0) + (1 if plots else 0)
        prog.update(task, total=steps, completed=1, description="forensics")

        def step(name: str) -> None:
            prog.update(task, advance=1, description=name)

        report = run_forensics(
            table,
            leader=leader,
            by=by,
            peak_bin=peak_bin,
            seed=seed,
            resamples=resamples,
            level=level,
            on_step=step,
        )
        written: list[Path] = []
        if plots is not None:
            written = _plots(report, table, plots)
            step("plots")
    if json_out:
        out = report.to_dict()
        out.update(kept_out_json(table.rejected, table.no_data))
        if plots is not None:
            out["plots"] = [str(p) for p in written]
        print_json(out)
        print_kept_out(err_console, table.rejected, table.no_data)
    else:
        _print_text(report)
        print_kept_out(out_console, table.rejected, table.no_data)
        if plots is not None:
            out_console.print(f"{len(written)} figures written to {plots}")


def _plots(report: ForensicsReport, table: ProtocolTable, out_dir: Path) -> list[Path]:
    from ..report.forensics_plots import save_forensics_plots

    out_dir.mkdir(parents=True, exist_ok=True)
    return list(save_forensics_plots(report, table, out_dir))
