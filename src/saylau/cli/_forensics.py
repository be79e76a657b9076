"""CLI command ``saylau forensics``: every forensic method on one precinct file.

Parses options, reads the file, calls the methods of :mod:`saylau.forensics` and renders their
results as JSON (``--json``) or as plain text; no statistics here. A progress bar runs on stderr
while the methods work (never on stdout).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._exceptions import SaylauError, SaylauInputError
from ..domain.table import ProtocolTable
from ..io import read_protocols
from ..results import Result, to_jsonable
from ._app import app, err_console, guarded, out_console, print_json

__all__ = ["forensics_command", "run_forensics"]

#: Result fields too bulky for the JSON report (they feed the plots).
_BULKY = {"hist2d", "leader_by_bin", "others_by_bin", "by_region", "cells"}


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


def _totals(table: ProtocolTable, leader: str) -> dict[str, Any]:
    reg = int(table.registered().sum())
    issued = int(table.issued().sum())
    cast = int(table.cast().sum())
    lead = int(table.votes(table.choice(leader)).sum())
    return {
        "stations": table.stations,
        "registered": reg,
        "issued": issued,
        "cast": cast,
        "leader": leader,
        "leader_votes": lead,
        "turnout": issued / reg if reg else math.nan,
        "leader_share": lead / cast if cast else math.nan,
    }


def _default_unit(table: ProtocolTable) -> str | None:
    return "region" if "region" in table.frame.columns else None


def _slim(result: Result) -> dict[str, Any]:
    return {k: v for k, v in result.to_dict().items() if k not in _BULKY}


@contextmanager
def _collect(sink: list[str], where: str) -> Iterator[None]:
    """Record the methods' warnings (and saylau errors) instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = f"{where}: {w.message}"
        if text not in sink:
            sink.append(text)


def _call(
    sink: list[str], where: str, fn: Callable[..., Result], *args: Any, **kwargs: Any
) -> Result | dict[str, str]:
    try:
        with _collect(sink, where):
            return fn(*args, **kwargs)
    except SaylauError as exc:
        return {"error": str(exc)}


def run_forensics(
    table: ProtocolTable,
    *,
    leader: str | None = None,
    by: str | None = None,
    peak_bin: int | None = None,
    seed: int | None = 0,
    resamples: int = 1000,
    on_step: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every forensic method; return the JSON-ready report and the raw results (for plots).

    The report has the keys ``totals``, ``data_quality``, ``integer_peaks``, ``excess_votes``,
    ``fingerprint``, ``coarse_shares``, ``digits``, ``small_counts``, ``warnings``, ``timings``
    (seconds per method; the only part that changes between runs) and, with ``by``,
    ``by_region`` (one entry per unit with every method). Each method gets its own
    generator seeded from ``seed``, so the same seed gives the same report.
    """
    from .. import forensics as fx

    step = on_step or (lambda _name: None)
    choice = table.choice(leader) if leader is not None else table.leader()
    sink: list[str] = []
    seeds = np.random.SeedSequence(seed).spawn(8)

    def gen(i: int) -> np.random.Generator:
        return np.random.default_rng(seeds[i])

    results: dict[str, Any] = {}
    report: dict[str, Any] = {"file": table.source, "leader": choice.name}
    report["totals"] = _totals(table, choice.name)
    quality = fx.station_quality(table)
    report["data_quality"] = quality.to_dict()
    step("data quality")

    plan: list[tuple[str, Callable[[], Result | dict[str, str]]]] = [
        (
            "integer_peaks",
            lambda: _call(sink, "integer_peaks", fx.integer_peaks, table, leader=choice, by=by),
        ),
        (
            "excess_votes",
            lambda: _call(
                sink,
                "excess_votes",
                fx.excess_votes,
                table,
                leader=choice,
                peak_bin=peak_bin,
                by=by,
            ),
        ),
        (
            "fingerprint",
            lambda: _call(sink, "fingerprint", fx.fingerprint, table, leader=choice, rng=gen(0)),
        ),
        (
            "digits",
            lambda: _call(
                sink,
                "digits",
                fx.digit_tests,
                table,
                by=by or _default_unit(table),
                resamples=resamples,
                rng=gen(1),
            ),
        ),
        ("small_counts", lambda: _call(sink, "small_counts", fx.small_counts, table)),
        (
            "distributions",
            lambda: _call(sink, "distributions", fx.distributions, table, leader=choice),
        ),
    ]
    coarse = fx.METHODS.get("coarse_shares")
    if coarse is not None:
        plan.insert(
            3,
            (
                "coarse_shares",
                lambda: _call(
                    sink,
                    "coarse_shares",
                    coarse,
                    table,
                    leader=choice.name,
                    resamples=resamples,
                    rng=gen(2),
                ),
            ),
        )
    else:
        report["coarse_shares"] = {"error": "coarse_shares is not available in this build"}
    timings: dict[str, float] = {}
    for name, run in plan:
        start = time.perf_counter()
        res = run()
        timings[name] = round(time.perf_counter() - start, 3)
        results[name] = res
        if name != "distributions":
            report[name] = _slim(res) if isinstance(res, Result) else res
        step(name)

    if by is not None:
        start = time.perf_counter()
        report["by_region"] = _by_region(
            table, by, choice.name, results, resamples, sink, seeds[3], step
        )
        timings["by_region"] = round(time.perf_counter() - start, 3)
    report["warnings"] = sink
    report["timings"] = timings
    return to_jsonable(report), results


def _by_region(
    table: ProtocolTable,
    by: str,
    leader: str,
    national: Mapping[str, Any],
    resamples: int,
    sink: list[str],
    seed: np.random.SeedSequence,
    step: Callable[[str], None],
) -> dict[str, Any]:
    from .. import forensics as fx

    units = table.level_values(by)
    names = sorted({str(u) for u in units})
    out: dict[str, dict[str, Any]] = {name: {} for name in names}
    ip, ev = national.get("integer_peaks"), national.get("excess_votes")
    for r in getattr(ip, "by_region", ()):
        out.setdefault(r.region, {})["integer_peaks"] = r.to_dict()
    for r in getattr(ev, "by_region", ()):
        out.setdefault(r.region, {})["excess_votes"] = r.to_dict()
    dig = national.get("digits")
    rows = getattr(dig, "rows", None)
    if rows is not None:
        for row in rows:
            unit = str(getattr(row, "unit", ""))
            if unit in out:
                out[unit].setdefault("digits", []).append(to_jsonable(row))
    children = seed.spawn(len(names))
    coarse = fx.METHODS.get("coarse_shares")
    unit_resamples = min(resamples, 200)
    for name, child in zip(names, children, strict=True):
        sub = table.filter(units == name)
        entry = out[name]
        entry["totals"] = _totals(sub, leader)
        g = np.random.default_rng(child)
        fp = _call(
            sink, f"{name}: fingerprint", fx.fingerprint, sub, leader=leader, fit=False, rng=g
        )
        entry["fingerprint"] = _slim(fp) if isinstance(fp, Result) else fp
        if coarse is not None:
            cs = _call(
                sink,
                f"{name}: coarse_shares",
                coarse,
                sub,
                leader=leader,
                resamples=unit_resamples,
                rng=g,
            )
            entry["coarse_shares"] = _slim(cs) if isinstance(cs, Result) else cs
        sc = _call(sink, f"{name}: small_counts", fx.small_counts, sub)
        entry["small_counts"] = _slim(sc) if isinstance(sc, Result) else sc
    step("by region")
    return out


def _fmt(x: Any, spec: str = ",.1f") -> str:
    if isinstance(x, int | float) and not (isinstance(x, float) and not math.isfinite(x)):
        return format(x, spec)
    return "—" if x is None else str(x)


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
            f"{_fmt(fp['theta'], '.4f')}; f_i {_fmt(fp.get('f_i'), '.3f')} f_e "
            f"{_fmt(fp.get('f_e'), '.3f')} α {_fmt(fp.get('alpha'), '.2f')}",
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
) -> None:
    """Election forensics on one precinct file: integer peaks, Shpilkin, fingerprint, coarse
    shares, digit tests, small counts.

    Example: ``saylau forensics russia-2012.csv.zip --by region --json``
    """
    if resamples < 1:
        raise SaylauInputError(
            "resamples must be positive", field="--resamples", expected=">= 1", found=resamples
        )
    show = err_console.is_terminal
    with _progress(show) as prog:
        task = prog.add_task(f"reading {file.name}", total=None)
        table = read_protocols(file)
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
    if json_out:
        print_json(report)
    else:
        _print_text(report)
        if plots is not None:
            out_console.print(f"{len(report['plots'])} figures written to {plots}")


def _plots(results: Mapping[str, Any], table: ProtocolTable, out_dir: Path) -> list[Path]:
    try:
        from ..report.forensics_plots import save_forensics_plots
    except ModuleNotFoundError as exc:  # pragma: no cover - ships with saylau
        raise SaylauError(f"plots are not available in this build ({exc.name})") from None
    ok = {k: v for k, v in results.items() if isinstance(v, Result)}
    out_dir.mkdir(parents=True, exist_ok=True)
    return list(save_forensics_plots(ok, table, out_dir))
