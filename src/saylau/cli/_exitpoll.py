"""CLI command ``saylau exitpoll``: design-based shares from exit-poll interviews.

Parses options, reads the files, calls :func:`saylau.survey.exitpoll.estimate_exitpoll` (and
:func:`saylau.survey.compare.compare_with_official` with ``--official``) and renders; no
statistics here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.table import Table

from .._exceptions import DataFormatError
from ..survey.estimates import IntervalMethod
from ..survey.exitpoll import (
    estimate_by_stratum,
    estimate_exitpoll,
    read_interviews,
    station_answers,
)
from ..survey.interviews import read_tally
from ..survey.official import compare_exit_poll, read_official
from ._app import app, err_console, guarded, out_console, print_json
from ._keptout import kept_out_json, print_kept_out

__all__ = ["exitpoll_command"]


def _read_frame(path: Path, columns: Path | None = None) -> Any:
    """The sampling frame: a frame CSV or any results file saylau reads."""
    from ..survey.frame import open_frame

    return open_frame(path, columns=columns)


def _read_sample(path: Path) -> Any:
    from ..survey.sample import SampleDraw

    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(
            "cannot read the sample draw", file=str(path), expected="draw JSON", found=str(exc)
        ) from None
    return SampleDraw.from_record(record, file=str(path))


@app.command("exitpoll")
@guarded
def exitpoll_command(
    interviews: Annotated[
        Path,
        typer.Argument(
            metavar="INTERVIEWS",
            help="Interview records, CSV or Parquet: station, band (time band), choice "
            "(a choice, Against all, refused or dont_know), optional gender, age_band. "
            "Columns that identify a respondent (name, phone...) are refused.",
        ),
    ],
    frame: Annotated[
        Path,
        typer.Option(
            "--frame",
            help="Sampling frame: CSV with station, registered and strata columns (optional "
            "prob = inclusion probability, sampled = true/false), or a results file.",
        ),
    ],
    official: Annotated[
        Path | None,
        typer.Option(
            "--official",
            help="Official results: a CSV choice,votes or choice,share (fractions or "
            "percentages), or a precinct file (adds the per-station comparison and the "
            "per-stratum tests re-drawn from every station's protocol); adds the comparison.",
        ),
    ] = None,
    official_stations: Annotated[
        Path | None,
        typer.Option(
            "--official-stations",
            help="Official per-station results CSV station,choice,votes: each sampled "
            "station's interview answers are tested against its official shares.",
        ),
    ] = None,
    official_strata: Annotated[
        Path | None,
        typer.Option(
            "--official-strata",
            help="Official per-stratum results CSV stratum,choice,votes (stratum labels as in "
            "the frame, columns joined by ' | '): adds the comparison per stratum.",
        ),
    ] = None,
    sample: Annotated[
        Path | None,
        typer.Option("--sample", help="The draw JSON written by `saylau sample`."),
    ] = None,
    strata: Annotated[
        str | None,
        typer.Option("--strata", help="Comma-separated frame columns forming the strata."),
    ] = None,
    tally: Annotated[
        Path | None,
        typer.Option("--tally", help="Interviewer tally CSV: station, band, approached [, skip]."),
    ] = None,
    choices: Annotated[
        str | None,
        typer.Option(
            "--choices",
            help="Comma-separated ballot choices (default: those of --official, else the "
            "answers found).",
        ),
    ] = None,
    ci_method: Annotated[
        str,
        typer.Option(
            "--ci",
            help="Interval: auto (Korn-Graubard under 5%, Wald above), wald, wilson, logit "
            "or korn-graubard.",
        ),
    ] = "auto",
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level.")] = 0.05,
    df_method: Annotated[
        str,
        typer.Option(
            "--df",
            help="Degrees of freedom of the intervals: design (stations - strata) or "
            "satterthwaite (better with many strata of 2-3 stations). The comparison's test "
            "always uses each choice's own Satterthwaite df (calibrated on real elections).",
        ),
    ] = "design",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    frame_columns: Annotated[
        Path | None,
        typer.Option(
            "--frame-columns",
            metavar="MAP.toml",
            help="Column mapping of a results file given as --frame (README, 'Formats').",
        ),
    ] = None,
) -> None:
    """Estimate vote shares from exit-poll interviews with the clustered design.

    Example: saylau exitpoll interviews.csv --frame frame.csv --official official.csv --json
    """
    off = read_official(official) if official is not None else None
    declared = [c.strip() for c in choices.split(",")] if choices else None
    if declared is None and off is not None:
        declared = list(off.totals)
    iv = read_interviews(interviews, choices=declared)
    fr = _read_frame(frame, frame_columns)
    draw = _read_sample(sample) if sample is not None else None
    strata_cols = [c.strip() for c in strata.split(",")] if strata else None
    if ci_method not in ("auto", "wald", "wilson", "logit", "korn-graubard"):
        raise DataFormatError(
            "unknown interval method", field="--ci",
            expected="auto | wald | wilson | logit | korn-graubard", found=ci_method,
        )  # fmt: skip
    if df_method not in ("design", "satterthwaite"):
        raise DataFormatError(
            "unknown df method", field="--df", expected="design | satterthwaite", found=df_method
        )
    tally_df = read_tally(tally) if tally is not None else None
    est = estimate_exitpoll(
        iv,
        fr,
        sample=draw,
        strata=strata_cols,
        tally=tally_df,
        df_method=cast(Literal["design", "satterthwaite"], df_method),
    )
    rows = est.table(alpha, cast(IntervalMethod, ci_method))
    for row, deff in zip(
        rows, est.deff if est.deff is not None else [None] * len(rows), strict=True
    ):
        row["deff"] = deff
    comparison = None
    if off is not None:
        if official_stations is not None:
            off = off.combine(read_official(official_stations, by="station"))
        if official_strata is not None:
            off = off.combine(read_official(official_strata, by="stratum"))
        by_stratum = None
        if off.stratum_totals(strata_cols or ["stratum"]) or off.stations is not None:
            by_stratum = estimate_by_stratum(
                iv, fr, strata=strata_cols, sample=draw, tally=tally_df, df_method=df_method
            )
        comparison = compare_exit_poll(
            est,
            off,
            by_stratum=by_stratum,
            answers=station_answers(iv) if off.level == "station" else None,
            strata=strata_cols or (),
            alpha=alpha,
        )
    elif official_stations is not None or official_strata is not None:
        raise DataFormatError(
            "--official-stations and --official-strata need --official",
            field="--official",
            expected="a national official result",
            found="none",
        )
    extra = dict(est.extra)
    out: dict[str, Any] = {
        "method": est.method,
        "choices": rows,
        "stations_reported": extra["stations_reported"],
        "stations_sampled": extra["stations_sampled"],
        "stations_missing": extra["stations_missing"],
        "interviews": {
            k.removeprefix("records_"): v for k, v in extra.items() if k.startswith("records")
        },
        "nonresponse_rate": extra["nonresponse_rate"],
        "df": est.df,
        "n_psu": est.n_psu,
        "n_strata": est.n_strata,
        "deff": dict(zip(est.choices, [r["deff"] for r in rows], strict=True)),
        "deff_weighting": extra["deff_weighting"],
        "excluded": extra["excluded"],
        "unknown_values": extra["unknown_values"],
        "collapsed_strata": extra["collapsed_strata"],
        "rules": extra["rules"],
        "comparison": comparison.to_dict() if comparison is not None else None,
        **kept_out_json(fr.rejected, fr.no_data),
    }
    if as_json:
        print_json(out)
        print_kept_out(err_console, fr.rejected, fr.no_data, what="frame station")
        return
    print_kept_out(out_console, fr.rejected, fr.no_data, what="frame station")
    table = Table(title=f"Exit poll ({est.method})")
    for col in ("choice", "estimate", "std. error", f"{1 - alpha:.0%} interval", "deff"):
        table.add_column(col, justify="left" if col == "choice" else "right")
    for r in rows:
        table.add_row(
            r["choice"],
            f"{r['estimate']:.2%}",
            f"{r['std_err']:.2%}",
            f"{r['ci_low']:.2%} - {r['ci_high']:.2%}",
            "" if r["deff"] is None else f"{r['deff']:.1f}",
        )
    out_console.print(table)
    out_console.print(
        f"stations reported {out['stations_reported']} of {out['stations_sampled']} sampled; "
        f"df {est.df:g}; non-response {extra['nonresponse_rate']:.1%}; "
        f"{len(extra['excluded'])} records kept out"
    )
    if comparison is not None:
        ctable = Table(title="Against the official result")
        for col in ("choice", "estimate", "official", "difference", "t", "p-value"):
            ctable.add_column(col, justify="left" if col == "choice" else "right")
        for c in comparison.rows:
            ctable.add_row(
                c.choice,
                f"{c.estimate:.2%}",
                f"{c.official:.2%}",
                f"{c.difference:+.2%}",
                f"{c.statistic:.2f}",
                f"{c.pvalue:.3g}",
            )
        out_console.print(ctable)
        j = comparison.joint
        if j.tested:
            out_console.print(f"national test: {j.method}, p = {j.pvalue:.3g}")
        if comparison.finding is not None:
            out_console.print("national: " + comparison.finding.headline())
        if comparison.strata_finding is not None:
            out_console.print("per stratum: " + comparison.strata_finding.headline())
            for h, p in sorted(comparison.strata_adjusted.items(), key=lambda kv: kv[1])[:10]:
                out_console.print(f"  stratum {h}: adjusted p = {p:.3g}")
            for h, why in list(comparison.strata_untested.items())[:10]:
                out_console.print(f"  stratum {h}: not tested ({why})")
        if comparison.stations_compared:
            out_console.print(
                f"{comparison.stations_compared} stations compared with their official "
                f"results; {len(comparison.stations)} disagree beyond sampling error"
            )
        if comparison.stations_finding is not None:
            out_console.print("stations: " + comparison.stations_finding.headline())
