"""CLI command ``saylau forensics``: every forensic method on one precinct file.

Parses options, reads the file, calls the methods of :mod:`saylau.forensics` and renders their
results as JSON (``--json``) or as plain text; no statistics here. A progress bar runs on stderr
while the methods work (never on stdout).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._exceptions import EmptyInputError, SaylauInputError
from ..domain.table import ProtocolTable
from ..forensics.battery import run_forensics
from ..io import read_protocols
from ..results import Result
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


def _fmt(x: Any, spec: str = ",.1f") -> str:
    if isinstance(x, int | float) and not (isinstance(x, float) and not math.isfinite(x)):
        return format(x, spec)
    return "—" if x is None else str(x)


def _interval(ci: Any) -> str:
    """`` [lo, hi]`` for a two-number interval, empty otherwise."""
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(v, float) for v in ci):
        return f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return ""


def _print_text(report: Mapping[str, Any]) -> None:
    t = report["totals"]
    out_console.print(
        f"[bold]{report.get('file') or 'table'}[/]: {t['stations']:,} stations, "
        f"{t['registered']:,} registered, turnout {100 * t['turnout']:.2f}%, "
        f"{t['leader']} {100 * t['leader_share']:.2f}%"
    )
    dq = report["data_quality"]["counts"]
    out_console.print("station rules: " + ", ".join(f"{k} {v:,}" for k, v in dq.items()))
    tab = Table(title="Forensic methods", show_lines=False)
    tab.add_column("method")
    tab.add_column("finding")
    ip = report.get("integer_peaks", {})
    if "error" in ip:
        tab.add_row("integer percentages", ip["error"])
    else:
        tab.add_row(
            "integer percentages",
            f"excess {_fmt(ip['excess_stations'])} stations (turnout {_fmt(ip['excess_turnout'])},"
            f" leader {_fmt(ip['excess_leader'])}), null sd {_fmt(ip['null_sd'])}, "
            f"z = {_fmt(ip['z'], '.2f')}, p = {_fmt(ip['pvalue'], '.2g')}"
            + ("  [red]above the 99.9% threshold[/]" if ip.get("alarm") else ""),
        )
    ev = report.get("excess_votes", {})
    if "error" in ev:
        tab.add_row("Shpilkin excess votes", ev["error"])
    else:
        lo, hi = ev["sensitivity_range"]
        tab.add_row(
            "Shpilkin excess votes",
            f"{_fmt(ev['estimate'], ',.0f')} at peak bin {ev['peak_bin']} ({ev['peak_method']}); "
            f"peak ±3 bins: {_fmt(lo, ',.0f')} … {_fmt(hi, ',.0f')}; "
            f"sampling s.e. {_fmt(ev['std_err'], ',.0f')}",
        )
    fp = report.get("fingerprint", {})
    if "error" in fp:
        tab.add_row("fingerprint", fp["error"])
    else:
        tab.add_row(
            "fingerprint (model-based)",
            f"τ {_fmt(fp['tau'], '.3f')} ν {_fmt(fp['nu'], '.3f')} σ_τ "
            f"{_fmt(fp['sigma_tau'], '.4f')} σ_ν {_fmt(fp['sigma_nu'], '.4f')} θ "
            f"{_fmt(fp['theta'], '.4f')}; fit f_i {_fmt(fp.get('f_i'), '.3f')} "
            f"f_e {_fmt(fp.get('f_e'), '.3f')} α {_fmt(fp.get('alpha'), '.2f')}; bias-corrected "
            f"f_i {_fmt(fp.get('f_i_corrected'), '.3f')}{_interval(fp.get('f_i_ci'))} "
            f"f_e {_fmt(fp.get('f_e_corrected'), '.3f')}{_interval(fp.get('f_e_ci'))}",
        )
    cs = report.get("coarse_shares", {})
    tab.add_row(
        "coarse vote shares",
        cs["error"] if "error" in cs else f"fraud {_fmt(cs.get('fraud_pct'), '.2f')}%",
    )
    dg = report.get("digits", {})
    tab.add_row(
        "digit tests (weak screens)",
        dg["error"] if "error" in dg else f"{len(dg.get('rows', []))} unit × quantity rows",
    )
    sc = report.get("small_counts", {})
    tab.add_row("small counts", sc["error"] if "error" in sc else _small_counts_line(sc))
    out_console.print(tab)
    for w in report.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)


def _small_counts_line(sc: Mapping[str, Any]) -> str:
    for key in ("flagged", "n_flagged", "significant"):
        if key in sc:
            val = sc[key]
            return f"{len(val) if isinstance(val, list) else val} flagged"
    return "done"


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

        report, results = run_forensics(
            table,
            leader=leader,
            by=by,
            peak_bin=peak_bin,
            seed=seed,
            resamples=resamples,
            on_step=step,
        )
        if plots is not None:
            report["plots"] = [str(p) for p in _plots(results, table, plots)]
            step("plots")
    report.update(kept_out_json(table.rejected, table.no_data))
    if json_out:
        print_json(report)
        print_kept_out(err_console, table.rejected, table.no_data)
    else:
        _print_text(report)
        print_kept_out(out_console, table.rejected, table.no_data)
        if plots is not None:
            out_console.print(f"{len(report['plots'])} figures written to {plots}")


def _plots(results: Mapping[str, Any], table: ProtocolTable, out_dir: Path) -> list[Path]:
    from ..report.forensics_plots import save_forensics_plots

    ok = {k: v for k, v in results.items() if isinstance(v, Result)}
    out_dir.mkdir(parents=True, exist_ok=True)
    return list(save_forensics_plots(ok, table, out_dir))
