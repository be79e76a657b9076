"""CLI commands over protocols: ``validate``, ``tabulate`` and the ``demo`` main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..domain.checks import ValidationReport, validate
from ..domain.table import ProtocolTable
from ..io import read_protocols
from ..results import to_jsonable
from ..tabulate.aggregate import Tabulation, tabulate
from ._app import app, err_console, guarded, out_console, print_json
from ._columns import ColumnsOpt, EncodingOpt, SheetOpt, SkipRowsOpt, reading
from ._keptout import kept_out_json, print_kept_out, reading_json
from ._paths import output_folder

FileArg = Annotated[
    Path, typer.Argument(help="Precinct file: CSV (.csv/.zip/.gz), Parquet, Excel.")
]


def _progress(enabled: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not enabled,
    )


def load(
    file: Path, profile: str | None, *, show: bool = True, read: dict[str, Any] | None = None
) -> ProtocolTable:
    """Read a file with a spinner on stderr (the library itself never prints).

    ``read`` holds the reading options (:func:`saylau.cli._columns.reading`).
    """
    with _progress(show and err_console.is_terminal) as prog:
        prog.add_task(f"reading {file.name}", total=None)
        return read_protocols(file, profile=profile, **(read or {}))


def _validation_table(report: ValidationReport, limit: int) -> Table:
    t = Table(title=f"Control relations ({report.profile})")
    t.add_column("relation")
    t.add_column("kind")
    t.add_column("violations", justify="right")
    t.add_column("not checkable", justify="right")
    t.add_column("lines")
    for name, info in report.by_relation.items():
        kind = "strict" if info["strict"] else "soft"
        style = "red" if info["strict"] and info["violations"] else None
        t.add_row(
            name,
            kind,
            str(info["violations"]),
            str(info["not_checkable"]),
            info["formula"] if info["applicable"] else "not applicable (line absent)",
            style=style,
        )
    return t


def _print_validation(report: ValidationReport, limit: int) -> None:
    out_console.print(
        f"[bold]{report.stations:,}[/] protocols: [green]{report.ok:,} ok[/], "
        f"[yellow]{report.soft_failed:,} soft-failed[/], [red]{report.failed:,} failed[/]; "
        f"{len(report.rejected):,} problems kept rows out when reading"
    )
    out_console.print(_validation_table(report, limit))
    if report.violations:
        t = Table(title=f"Violations (first {min(limit, len(report.violations))})")
        for col in ("station", "relation", "kind", "found", "expected", "difference"):
            t.add_column(
                col, justify="right" if col in ("found", "expected", "difference") else "left"
            )
        for v in report.violations[:limit]:
            t.add_row(
                v.station,
                v.relation,
                "strict" if v.strict else "soft",
                f"{v.found:,}",
                f"{v.expected:,}",
                f"{v.difference:+,}",
            )
        out_console.print(t)
    for note in report.notes:
        out_console.print(f"[dim]note: {note}[/]")


@app.command("validate")
@guarded
def validate_cmd(
    file: FileArg,
    profile: Annotated[
        str | None, typer.Option(help="Protocol profile (default: detected from the header).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    limit: Annotated[int, typer.Option(help="Rows of failures to show in the table.")] = 20,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
) -> None:
    """Check every protocol's control relations; list failures.

    Example: [cyan]saylau validate ../shared/data/russia/2011.csv.zip[/]

    Exit code 0 when every row was read and no protocol fails a strict relation; 1 when some
    protocol fails one or some row was kept out of the table (both are listed).
    """
    table = load(file, profile, show=not as_json, read=reading(columns, encoding, sheet, skip_rows))
    report = validate(table)
    if as_json:
        print_json(
            {
                **to_jsonable(report),
                **kept_out_json(table.rejected, table.no_data),
                **reading_json(table),
            }
        )
        print_kept_out(err_console, table.rejected, table.no_data, limit=limit)
    else:
        _print_validation(report, limit)
        print_kept_out(out_console, table.rejected, table.no_data, limit=max(limit, 50))
    if report.failed or report.rejected:
        raise typer.Exit(1)


def _print_tabulation(tab: Tabulation, limit: int) -> None:
    t = Table(title=f"Totals by {tab.level} (shares of {tab.base})")
    t.add_column(tab.level)
    t.add_column("stations", justify="right")
    t.add_column("voters", justify="right")
    t.add_column("turnout", justify="right")
    for c in tab.choices:
        t.add_column(c[:24], justify="right")
    rows = [*tab.units.head(limit).to_dicts(), tab.national]
    for r in rows:
        shares = ["-" if r[f"share:{c}"] is None else f"{r[f'share:{c}']:.2%}" for c in tab.choices]
        turnout = "-" if r["turnout"] is None else f"{r['turnout']:.2%}"
        t.add_row(
            str(r["unit"]),
            f"{r['stations']:,}",
            f"{r['voters_on_list']:,}",
            turnout,
            *shares,
            style="bold" if r is tab.national else None,
        )
    out_console.print(t)
    if tab.units.height > limit:
        out_console.print(f"[dim]{tab.units.height - limit} more units; use --json for all[/]")
    o = tab.outcome
    if o is not None:
        verdict = "[green]valid[/]" if o.valid_election else "[red]failed[/]"
        out_console.print(f"Rules {o.rules}: election {verdict}; turnout {o.turnout:.2%}")
        for reason in o.reasons:
            out_console.print(f"  [red]{reason}[/]")
        if o.winner:
            out_console.print(f"  winner: [bold]{o.winner}[/]")
        if o.runoff:
            out_console.print(f"  run-off: {' vs '.join(o.runoff)}")
        if o.seats:
            out_console.print("  seats: " + ", ".join(f"{k} {v}" for k, v in o.seats.items() if v))
        for note in o.notes:
            out_console.print(f"  [dim]{note}[/]")


@app.command("tabulate")
@guarded
def tabulate_cmd(
    file: FileArg,
    level: Annotated[
        str | None, typer.Option(help="Hierarchy level: region, tik, uik... or station.")
    ] = None,
    rules: Annotated[
        str | None,
        typer.Option(help="Rule set deciding validity and outcome, e.g. ru-president-2004."),
    ] = None,
    base: Annotated[
        str | None, typer.Option(help="Share base: valid | valid_excl_against_all | cast.")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Protocol profile override.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print units and totals as JSON.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Units to show in the table.")] = 30,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
) -> None:
    """Add protocols up to a level of the hierarchy: totals, turnout, shares (Against all too).

    Rows kept out of the file (bad figures, ragged rows, conflicting duplicates) are listed
    after the totals and under "kept_out" in --json.

    Example:
    [cyan]saylau tabulate ../shared/data/russia/2004.csv.zip --level region
    --rules ru-president-2004[/]
    """
    table = load(file, profile, show=not as_json, read=reading(columns, encoding, sheet, skip_rows))
    tab = tabulate(table, level=level, rules=rules, base=base)  # type: ignore[arg-type]
    if as_json:
        print_json(
            {
                **to_jsonable(tab),
                **kept_out_json(table.rejected, table.no_data),
                **reading_json(table),
            }
        )
        print_kept_out(err_console, table.rejected, table.no_data)
    else:
        _print_tabulation(tab, limit)
        print_kept_out(out_console, table.rejected, table.no_data)


@app.command("demo")
@guarded
def demo_cmd(
    out: Annotated[Path, typer.Option(help="Folder for the outputs.")] = Path("saylau-output"),
) -> None:
    """Run the main job on the bundled sample election (five regions of Russia 2004).

    Example: [cyan]saylau demo --out saylau-output[/]
    """
    from .._demo import run_demo

    output_folder(out, option="--out")
    run_demo(out, console=out_console, progress=_progress(True))
