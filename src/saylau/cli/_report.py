"""CLI command ``saylau report``: one election's evidence report as HTML and PDF.

Parses options and calls :func:`saylau.report.prepare_report` and
:func:`saylau.report.write_report` (once per language); no statistics, no rendering here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .._exceptions import SaylauInputError
from ..forensics.battery import DEFAULT_LEVEL
from ._app import app, err_console, guarded, out_console, print_json
from ._columns import ColumnsOpt, EncodingOpt, SheetOpt, SkipRowsOpt, reading
from ._paths import output_folder

__all__ = ["report_command"]

_FileOpt = Path | None


@app.command("report")
@guarded
def report_command(
    official: Annotated[
        _FileOpt,
        typer.Option("--official", help="Official precinct results (any file saylau reads)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Read the official results, the agreed copies and the incidents from the "
            "observer service's database instead (e.g. sqlite:///election.db).",
        ),
    ] = None,
    copies: Annotated[
        _FileOpt, typer.Option("--copies", help="Observers' protocol copies (same layout).")
    ] = None,
    copies_columns: Annotated[
        _FileOpt,
        typer.Option("--copies-columns", metavar="MAP.toml", help="Column mapping of --copies."),
    ] = None,
    quick_count: Annotated[
        _FileOpt, typer.Option("--quick-count", help="Quick-count reports (protocol copies).")
    ] = None,
    exit_poll: Annotated[
        _FileOpt, typer.Option("--exit-poll", help="Exit-poll interviews (CSV or Parquet).")
    ] = None,
    head_counts: Annotated[
        Path | None,
        typer.Option(
            "--head-counts",
            help="Observers' head counts of voters entering (station, observer, checkpoint, "
            "count); with --db, read from the service when not given.",
        ),
    ] = None,
    incidents: Annotated[
        _FileOpt,
        typer.Option("--incidents", help="Incident reports: CSV/Excel table or JSON lines."),
    ] = None,
    reference: Annotated[
        _FileOpt,
        typer.Option(
            "--reference",
            help="Reference election drawn beside each forensic figure (default: the "
            "bundled clean control, Poland 2020).",
        ),
    ] = None,
    no_reference: Annotated[
        bool, typer.Option("--no-reference", help="Draw the figures without a reference.")
    ] = False,
    frame: Annotated[
        _FileOpt,
        typer.Option("--frame", help="Sampling frame (default: the official results)."),
    ] = None,
    qc_sample: Annotated[
        _FileOpt, typer.Option("--qc-sample", help="draw.json of the quick-count sample.")
    ] = None,
    ep_sample: Annotated[
        _FileOpt, typer.Option("--ep-sample", help="draw.json of the exit-poll sample.")
    ] = None,
    strata: Annotated[
        str | None, typer.Option("--strata", help="Comma-separated strata columns.")
    ] = None,
    ep_frame: Annotated[
        _FileOpt,
        typer.Option("--ep-frame", help="The exit poll's own sampling frame (default: --frame)."),
    ] = None,
    ep_tally: Annotated[
        _FileOpt,
        typer.Option(
            "--ep-tally",
            help="Interviewers' tally of voters approached: station, band, approached.",
        ),
    ] = None,
    ep_strata: Annotated[
        str | None,
        typer.Option("--ep-strata", help="Strata columns of the exit poll (default: --strata)."),
    ] = None,
    rules: Annotated[
        str | None, typer.Option("--rules", help="Rule set of the outcome and the seats.")
    ] = None,
    leader: Annotated[
        str | None, typer.Option("--leader", help="Choice the forensics study (default: most).")
    ] = None,
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", help="kk | ru | en (repeat for several; default en)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = Path(
        "saylau-report"
    ),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = True,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the resampling.")] = 0,
    resamples: Annotated[
        int, typer.Option("--resamples", min=1, help="Resamples where a method resamples.")
    ] = 1000,
    level: Annotated[
        float, typer.Option("--level", help="Family-wise false-alarm level of the forensics.")
    ] = DEFAULT_LEVEL,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written as JSON.")
    ] = False,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
) -> None:
    """Build the evidence report: one self-contained HTML file and a PDF per language.

    Sections appear only where their data exists (a line says why one is left out).

    Example: saylau report --official results.csv --copies copies.csv --lang kk --lang ru
    """
    from ..report import prepare_report, write_report
    from ..report.locale import ReportLocale

    langs = list(dict.fromkeys(lang or ["en"]))
    for code in langs:
        ReportLocale(code)
    if (official is None) == (db is None):
        raise SaylauInputError(
            "give the official results as a file or a database",
            field="--official / --db",
            expected="exactly one of them",
            found="both" if official is not None else "neither",
        )
    output_folder(out, option="--out")
    inputs: dict[str, Any] = {}
    if db is not None:
        from ..report.fromdb import inputs_from_db

        got = inputs_from_db(db)
        source: Any = got["official"]
        inputs["copies"] = copies if copies is not None else got["copies"]
        inputs["incidents"] = incidents if incidents is not None else got["incidents"]
        inputs["head_counts"] = head_counts if head_counts is not None else got["head_counts"]
    else:
        source = official
        inputs["copies"] = copies
        inputs["incidents"] = incidents
        inputs["head_counts"] = head_counts
    with err_console.status("analysing", spinner="dots") if err_console.is_terminal else _null():
        data = prepare_report(
            source,
            quick_count=quick_count,
            exit_poll=exit_poll,
            reference=reference,
            no_reference=no_reference,
            frame=frame,
            quick_count_sample=qc_sample,
            exit_poll_sample=ep_sample,
            exit_poll_frame=ep_frame,
            exit_poll_tally=ep_tally,
            exit_poll_strata=[s.strip() for s in ep_strata.split(",")] if ep_strata else None,
            strata=[s.strip() for s in strata.split(",")] if strata else None,
            rules=rules,
            leader=leader,
            seed=seed,
            resamples=resamples,
            level=level,
            reading=reading(columns, encoding, sheet, skip_rows),
            copies_reading={"columns": copies_columns} if copies_columns else None,
            **inputs,
        )
        results = [write_report(data, out=out, lang=code, pdf=pdf) for code in langs]
    if as_json:
        print_json([r.to_dict() for r in results])
        return
    for key, reason in data.dropped.items():
        out_console.print(f"left out: {key} ({reason})")
    for r in results:
        out_console.print(f"{r.lang}: {r.html}" + (f"  {r.pdf}" if r.pdf else ""))


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
