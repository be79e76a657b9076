"""CLI commands ``saylau sample`` and ``saylau quickcount``: draw a sample, estimate from it.

Parsing and rendering only: the statistics are :mod:`saylau.survey.sample` and
:mod:`saylau.survey.quickcount`, the comparison :func:`saylau.survey.compare.compare_with_official`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .._exceptions import SaylauInputError
from ..domain.table import ProtocolTable
from ..results import to_jsonable
from ..survey.compare import ComparisonResult
from ..survey.frame import open_frame
from ..survey.official import compare_quick_count, read_official
from ..survey.projection import project_seats, threshold_probability
from ..survey.quickcount import quick_count, quick_count_progress
from ..survey.sample import (
    TAKE_ALL_MULTIPLE,
    SampleDraw,
    draw_sample,
    is_take_all,
    read_draw,
    write_assignment_sheets,
)
from ._app import app, err_console, guarded, out_console, print_json
from ._columns import ColumnsOpt, EncodingOpt, SheetOpt, SkipRowsOpt, reading
from ._keptout import kept_out_json, print_kept_out
from ._paths import output_folder

__all__ = ["quickcount", "sample"]


def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


@app.command("sample")
@guarded
def sample(
    frame_path: Annotated[
        Path,
        typer.Argument(
            metavar="FRAME",
            help="Frame CSV (station, registered, strata columns, optional past:*) or any "
            "results file saylau can read.",
        ),
    ],
    *,
    stations: Annotated[int, typer.Option("--stations", help="Stations to draw in all.")],
    strata: Annotated[
        str | None,
        typer.Option("--strata", help="Comma-separated frame columns defining the strata."),
    ] = None,
    pps: Annotated[
        bool, typer.Option("--pps", help="Systematic PPS by registered voters within strata.")
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the draw (recorded; drawn from the OS if absent)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the draw and the sheets.")] = Path(
        "sample"
    ),
    allocation: Annotated[
        str,
        typer.Option("--allocation", help="proportional | size | equal | neyman."),
    ] = "proportional",
    neyman_column: Annotated[
        str | None,
        typer.Option("--neyman-column", help="Past-results column for Neyman allocation."),
    ] = None,
    sheets_by: Annotated[
        str, typer.Option("--sheets-by", help="One assignment sheet per value of this column.")
    ] = "region",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a draw already in the --out folder.")
    ] = False,
    take_all: Annotated[
        float,
        typer.Option(
            "--take-all",
            help="Stations with more registered voters than this multiple of their "
            "stratum's median are taken with certainty, in a take-all stratum of their own "
            "(0 turns the rule off).",
        ),
    ] = TAKE_ALL_MULTIPLE,
) -> None:
    """Draw a stratified sample of polling stations and write assignment
    sheets.

    Writes DIR/draw.json (the record that re-does the draw exactly: seed,
    design, frame fingerprint, selection), DIR/sample.csv and
    DIR/sheets/<region>.csv. A folder that already holds a draw is
    refused unless --force is given. Stations the frame lost (rows kept
    out of a results file) are listed before the sample is drawn.

    Example:

        saylau sample results.csv.zip --stations 1000 --strata region --seed 7
    """
    output_folder(out, option="--out")
    previous = out / "draw.json"
    if previous.exists() and not force:
        raise SaylauInputError(
            "a draw is already in this folder; it is never overwritten without --force",
            file=str(previous),
            field="--out",
            expected="a new folder, or --force",
            found="draw.json",
        )
    fr = open_frame(
        frame_path,
        strata=_columns(strata) or None,
        **reading(columns, encoding, sheet, skip_rows),
    )
    # the frame's lost stations are said before any sample is drawn from it
    print_kept_out(err_console, fr.rejected, fr.no_data, what="station")
    if fr.rejected:
        err_console.print(
            f"warning: the sampling frame lacks the {len(fr.rejected)} stations kept out "
            "above; they cannot be drawn",
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    if allocation not in ("proportional", "size", "equal", "neyman"):
        raise SaylauInputError(
            "unknown allocation",
            field="--allocation",
            expected="proportional | size | equal | neyman",
            found=allocation,
        )
    draw = draw_sample(
        fr,
        n=stations,
        strata=_columns(strata),
        method="pps" if pps else "srs",
        allocation=allocation,  # type: ignore[arg-type]
        neyman_column=neyman_column,
        rng=seed,
        take_all=take_all or None,
    )
    files = write_assignment_sheets(draw, fr, out, by=sheets_by)
    summary = {
        "stations_sampled": len(draw.stations),
        "strata": len(draw.population),
        "method": draw.method,
        "allocation": draw.allocation,
        "seed": draw.seed,
        "frame_stations": draw.frame_stations,
        "frame_fingerprint": draw.frame_fingerprint,
        "take_all": {
            "multiple": draw.take_all,
            "stations": sum(1 for h in draw.stratum if is_take_all(h)),
            "rule": draw.take_all_rule,
        },
        "files": [str(f) for f in files],
        **kept_out_json(fr.rejected, fr.no_data),
    }
    if as_json:
        print_json(summary)
        return
    out_console.print(
        f"drew {len(draw.stations)} of {draw.frame_stations} stations "
        f"({draw.method}, {draw.allocation} allocation, {len(draw.population)} strata), "
        f"seed {draw.seed}"
    )
    out_console.print(f"take-all: {draw.take_all_rule} (--take-all to change, 0 for none)")
    out_console.print(f"wrote {len(files)} files to {out}")


def _open_reports(path: Path, read: dict[str, Any]) -> ProtocolTable:
    from ..io import read_protocols

    return read_protocols(path, **read)


@app.command("quickcount")
@guarded
def quickcount(
    reports_path: Annotated[
        Path,
        typer.Argument(
            metavar="REPORTS",
            help="CSV of observers' protocol copies: station, then protocol lines, then votes.",
        ),
    ],
    *,
    frame_path: Annotated[
        Path,
        typer.Option(
            "--frame", help="Sampling frame CSV, or the results file the sample was drawn from."
        ),
    ],
    sample_path: Annotated[
        Path | None,
        typer.Option("--sample", help="draw.json written by `saylau sample` (strongly advised)."),
    ] = None,
    strata: Annotated[
        str | None,
        typer.Option("--strata", help="Strata columns of the frame when no --sample is given."),
    ] = None,
    official: Annotated[
        Path | None,
        typer.Option(
            "--official",
            help="Official results to compare with: a precinct file (national, per-stratum "
            "and per-station comparisons) or a CSV choice,votes (national only).",
        ),
    ] = None,
    denominator: Annotated[
        str, typer.Option("--denominator", help="valid (votes for all choices) | cast.")
    ] = "valid",
    empty: Annotated[
        str, typer.Option("--empty", help="Strata with no report: error | collapse.")
    ] = "error",
    singleton: Annotated[
        str, typer.Option("--singleton", help="Strata with one report: collapse | certainty.")
    ] = "collapse",
    interval: Annotated[
        str,
        typer.Option(
            "--interval",
            help="auto (Korn-Graubard under 5%, Wald above) | wald | wilson | logit | "
            "korn-graubard.",
        ),
    ] = "auto",
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level.")] = 0.05,
    seats: Annotated[
        int | None, typer.Option("--seats", help="Project this many seats (with --threshold).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Seat threshold as a fraction, e.g. 0.05.")
    ] = None,
    seat_method: Annotated[
        str, typer.Option("--seat-method", help="hare | droop | dhondt | sainte-lague.")
    ] = "hare",
    rules: Annotated[
        str | None, typer.Option("--rules", help="Rule set for the seat projection.")
    ] = None,
    draws: Annotated[int, typer.Option("--draws", help="Draws of the seat projection.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the seat projection.")] = 1,
    progress: Annotated[
        int | None,
        typer.Option(
            "--progress",
            help="Also show the estimate after the first 1/K, 2/K, ... of the reports "
            "(in the order of the REPORTS rows: the order they arrived).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
    frame_columns: Annotated[
        Path | None,
        typer.Option("--frame-columns", metavar="MAP.toml", help="Column mapping of --frame."),
    ] = None,
    official_columns: Annotated[
        Path | None,
        typer.Option(
            "--official-columns", metavar="MAP.toml", help="Column mapping of --official."
        ),
    ] = None,
) -> None:
    """Estimate every choice's share (Against all included) from a quick count.

    REPORTS is a CSV file (comma or semicolon, UTF-8) with one row per
    reported station.

    Columns: `station` (the id of the frame and the sample); optional levels
    such as `region`; the protocol lines by key (`voters_on_list`, `issued`,
    `invalid`, `valid`, ...); then one column of votes per choice, Against
    all included. The row order is the arrival order.

        station,voters_on_list,issued,invalid,valid,Amanat,Auyl,Против всех

        0412,1530,910,12,898,601,190,107

    The encoding, sheet and column options (--columns...) are those of
    REPORTS; --frame-columns and --official-columns give the mappings of
    the other two files (a mapping file can carry its own encoding, sheet
    and skip_rows).

    Kept out and listed: reports outside the frame or the sample,
    conflicting copies of one station, missing figures, stations with no
    valid ballots.

    Example:

        saylau quickcount reports.csv --frame frame.csv --sample qc/draw.json
    """
    fr = open_frame(frame_path, columns=frame_columns)
    draw: SampleDraw | None = read_draw(sample_path) if sample_path is not None else None
    reports = _open_reports(reports_path, reading(columns, encoding, sheet, skip_rows))
    cols = list(draw.strata_columns) if draw is not None else _columns(strata)
    for name, value, allowed in (
        ("--denominator", denominator, ("valid", "cast")),
        ("--empty", empty, ("error", "collapse")),
        ("--singleton", singleton, ("collapse", "certainty")),
        ("--interval", interval, ("auto", "wald", "wilson", "logit", "korn-graubard")),
    ):
        if value not in allowed:
            raise SaylauInputError(
                "unknown option value", field=name, expected=" | ".join(allowed), found=value
            )
    qc = quick_count(
        reports,
        frame=fr,
        sample=draw,
        strata=cols,
        denominator=denominator,  # type: ignore[arg-type]
        empty=empty,  # type: ignore[arg-type]
        singleton=singleton,  # type: ignore[arg-type]
        by_stratum=official is not None,
    )
    rows = qc.table(alpha, interval)  # type: ignore[arg-type]
    # the frame may be the very file of the reports: each kept-out row is listed once
    kept = tuple(dict.fromkeys((*fr.rejected, *reports.rejected)))
    no_data = tuple(dict.fromkeys((*fr.no_data, *reports.no_data)))
    out: dict[str, Any] = {
        "choices": rows,
        "stations_reported": qc.stations_reported,
        "stations_sampled": qc.stations_sampled,
        "df": qc.shares.df,
        "method": qc.shares.method,
        "denominator": qc.denominator,
        "interval": interval,
        "alpha": alpha,
        "not_reported": qc.not_reported(),
        "strata": to_jsonable(qc.strata),
        "excluded": to_jsonable(qc.excluded),
        "rules": dict(qc.rules),
        "take_all": list(qc.take_all),
        "warnings": list(qc.warnings),
        **kept_out_json(kept, no_data),
    }
    if qc.turnout is not None:
        out["turnout"] = qc.turnout.table(alpha, interval)[0]  # type: ignore[arg-type]
    if threshold is not None:
        out["threshold_probability"] = threshold_probability(qc.shares, threshold)
    if progress is not None:
        prog = quick_count_progress(
            reports,
            frame=fr,
            sample=draw,
            strata=cols,
            checkpoints=progress,
            denominator=denominator,
            singleton=singleton,
            alpha=alpha,
        )
        out["progress"] = prog.to_frame().to_dicts()
    if seats is not None or rules is not None:
        proj = project_seats(
            qc.shares,
            seats=seats,
            method=seat_method if rules is None else None,
            threshold=threshold,
            rules=rules,
            draws=draws,
            alpha=alpha,
            rng=seed,
        )
        out["seats"] = proj.table()
    comparison = None
    if official is not None:
        comparison = compare_quick_count(
            qc,
            read_official(official, columns=official_columns),
            reports=reports,
            strata=cols,
            alpha=alpha,
        )
        out["comparison"] = to_jsonable(comparison)
    if as_json:
        print_json(out)
        print_kept_out(err_console, kept, no_data)
        return
    t = Table(title=f"quick count: {qc.stations_reported} stations reported")
    for col in ("choice", "estimate", "std_err", "ci_low", "ci_high"):
        t.add_column(col, justify="left" if col == "choice" else "right")
    for r in rows:
        t.add_row(
            str(r["choice"]),
            f"{100 * r['estimate']:.2f}%",
            f"{100 * r['std_err']:.2f}",
            f"{100 * r['ci_low']:.2f}%",
            f"{100 * r['ci_high']:.2f}%",
        )
    out_console.print(t)
    for w in qc.warnings:
        out_console.print(f"warning: {w}", style="yellow", markup=False, soft_wrap=True)
    print_kept_out(out_console, kept, no_data)
    if qc.excluded:
        out_console.print(f"{len(qc.excluded)} reports kept out:")
        for e in qc.excluded[:20]:
            more = f" ({e.detail})" if e.detail else ""
            out_console.print(f"  station {e.station}, row {e.row}: {e.reason}{more}")
    missing = qc.not_reported()
    if missing:
        out_console.print(
            f"not yet reported: {sum(missing.values())} stations in {len(missing)} strata"
        )
    if qc.turnout is not None:
        t_ = out["turnout"]
        out_console.print(
            f"turnout {100 * t_['estimate']:.2f}% "
            f"[{100 * t_['ci_low']:.2f}%, {100 * t_['ci_high']:.2f}%]"
        )
    out_console.print(f"df {qc.shares.df:g}; {qc.shares.method}")
    if "threshold_probability" in out:
        out_console.print(f"probability of passing the {threshold:g} threshold:")
        for c, pr in out["threshold_probability"].items():
            out_console.print(f"  {c}: {pr:.3f}")
    if "seats" in out:
        st = Table(title="seat projection")
        for col in ("choice", "seats", "range", "P(threshold)", "P(any seat)"):
            st.add_column(col, justify="left" if col == "choice" else "right")
        for r in out["seats"]:
            st.add_row(
                str(r["choice"]),
                str(r["seats"]),
                f"{r['seats_low']}-{r['seats_high']}",
                f"{r['p_threshold']:.3f}",
                f"{r['p_any_seat']:.3f}",
            )
        out_console.print(st)
    if "progress" in out:
        pt = Table(title="progress: the estimate as reports arrived")
        for col in ("reports", "choice", "estimate", "ci"):
            pt.add_column(col, justify="left" if col == "choice" else "right")
        for r in out["progress"]:
            est_ = r["estimate"]
            pt.add_row(
                str(r["reports"]),
                str(r["choice"]),
                "-" if est_ is None else f"{100 * est_:.2f}%",
                "-"
                if r["ci_low"] is None
                else f"{100 * r['ci_low']:.2f}% - {100 * r['ci_high']:.2f}%",
            )
        out_console.print(pt)
    if comparison is not None:
        _print_comparison(comparison)


def _print_comparison(cmp_: ComparisonResult) -> None:
    """The comparison as the JSON has it: per choice, the findings with their caveats."""
    t = Table(title="against the official result")
    for col in ("choice", "estimate", "official", "difference", "t", "p-value"):
        t.add_column(col, justify="left" if col == "choice" else "right")
    for c in cmp_.rows:
        t.add_row(
            c.choice,
            f"{100 * c.estimate:.2f}%",
            f"{100 * c.official:.2f}%",
            f"{100 * c.difference:+.2f}",
            "-" if c.statistic != c.statistic else f"{c.statistic:.2f}",
            "-" if c.pvalue != c.pvalue else f"{c.pvalue:.3g}",
        )
    out_console.print(t)
    j = cmp_.joint
    if j.tested:
        out_console.print(f"national test: {j.method}, p = {j.pvalue:.3g}")
    if cmp_.finding is not None:
        out_console.print("national: " + cmp_.finding.headline())
    if cmp_.strata_finding is not None:
        out_console.print("per stratum: " + cmp_.strata_finding.headline())
        for h, p in sorted(cmp_.strata_adjusted.items(), key=lambda kv: kv[1])[:10]:
            if p < cmp_.alpha:
                out_console.print(f"  {h}: adjusted p = {p:.3g}")
        for h, why in list(cmp_.strata_untested.items())[:10]:
            out_console.print(f"  {h}: not tested ({why})")
    if cmp_.stations_finding is not None:
        out_console.print(
            f"stations: {cmp_.stations_compared} copies compared, {len(cmp_.stations)} "
            f"differences; " + cmp_.stations_finding.headline()
        )
        for f in cmp_.stations[:20]:
            out_console.print(
                f"  station {f.station}, {f.choice}: copy {f.observed:g}, official {f.official:g}"
            )
        for sid, why in list(cmp_.stations_not_compared.items())[:10]:
            out_console.print(f"  station {sid}: {why}")
