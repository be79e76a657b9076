"""CLI commands ``saylau turnout ...``: head counts, observed vs unobserved, voter lists.

Thin shells over :mod:`saylau.turnout`: parse options, read the files with the library's
readers, call the methods, render the results and their findings (``--json`` for machines).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from ..io import read_protocols
from ..survey.frame import open_frame
from ..survey.sample import read_draw
from ..turnout import (
    calibrate_voter_lists,
    observer_effect,
    read_head_counts,
    read_station_list,
    turnout_excess,
    voter_list_checks,
)
from ._app import app, guarded, out_console, print_json

__all__ = ["turnout_app"]

turnout_app = typer.Typer(
    help="Fake voters and padded turnout: observers' head counts against the protocols, "
    "observed versus unobserved stations, voter lists across elections.",
    no_args_is_help=True,
)
app.add_typer(turnout_app, name="turnout")

Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _table(frame: pl.DataFrame, title: str, limit: int = 20) -> Table:
    tab = Table(title=title)
    for c in frame.columns:
        tab.add_column(c)
    for row in frame.head(limit).iter_rows():
        tab.add_row(*(f"{v:,.4g}" if isinstance(v, float) else str(v) for v in row))
    return tab


@turnout_app.command("excess")
@guarded
def excess_command(
    protocols: Annotated[
        Path, typer.Argument(help="Precinct protocols (any format saylau reads).")
    ],
    counts: Annotated[
        Path, typer.Argument(help="Head counts: station, observer, checkpoint, count[, official].")
    ],
    by: Annotated[str, typer.Option(help="Hierarchy column to total by.")] = "region",
    level: Annotated[float, typer.Option(help="Level of the tests.")] = 0.01,
    correction: Annotated[str, typer.Option(help="holm | bh (station list).")] = "holm",
    count_error: Annotated[
        float | None, typer.Option(help="Known counting error per square-root voter.")
    ] = None,
    allowance: Annotated[
        float, typer.Option(help="Share of seen ballots allowed uncounted.")
    ] = 0.0,
    json_out: Json = False,
) -> None:
    """Ballots issued in each station beyond the observers' head count.

    Example: ``saylau turnout excess protocols.csv headcounts.csv --by region``
    """
    res = turnout_excess(
        read_protocols(protocols),
        read_head_counts(counts),
        by=by,
        level=level,
        correction=correction,
        count_error=count_error,
        allowance=allowance,
    )
    if json_out:
        print_json(res)
        return
    lo, hi = res.conf_int()
    out_console.print(
        f"excess ballots over {res.tested:,} counted stations: {res.estimate:,.0f} "
        f"[{lo:,.0f}, {hi:,.0f}] (95%); counting error {res.sigma:.3f} per √voter from "
        f"{res.pairs} double counts"
    )
    out_console.print(f"finding: {res.finding.headline()}")
    out_console.print(_table(res.regions, f"by {by}"))
    flagged = res.stations.filter(pl.col("flagged")).select(
        "station", "region", "issued_seen", "counted", "excess", "std_err", "pvalue_adj"
    )
    out_console.print(
        _table(
            flagged,
            f"{len(res.flagged)} stations beyond the counting error ({res.correction})",
            limit=200,
        )
    )
    for p in (*res.rejected, *res.problems):
        out_console.print(f"kept out or flagged: {p}")


@turnout_app.command("observed")
@guarded
def observed_command(
    protocols: Annotated[Path, typer.Argument(help="Official protocols of every station.")],
    draw: Annotated[
        Path | None, typer.Option(help="draw.json written by `saylau sample` (randomised).")
    ] = None,
    frame: Annotated[Path | None, typer.Option(help="The frame the draw was made from.")] = None,
    observed: Annotated[
        Path | None, typer.Option(help="Observed station ids, one a line (observational).")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="Previous election's protocols, to match on.")
    ] = None,
    exact: Annotated[
        list[str] | None, typer.Option(help="Columns matched exactly (repeatable).")
    ] = None,
    level: Annotated[float, typer.Option(help="Level of the tests.")] = 0.05,
    json_out: Json = False,
) -> None:
    """Turnout and each choice's share, observed minus unobserved stations.

    Example: ``saylau turnout observed official.csv --draw sample/draw.json --frame frame.csv``
    """
    res = observer_effect(
        read_protocols(protocols),
        observed=None if observed is None else read_station_list(observed),
        draw=None if draw is None else read_draw(draw),
        frame=None if frame is None else open_frame(frame),
        previous=None if previous is None else read_protocols(previous),
        exact=tuple(exact) if exact else ("region",),
        level=level,
    )
    if json_out:
        print_json(res)
        return
    out_console.print(f"[bold]{res.label}[/]")
    out_console.print(f"evidence: {res.evidence}")
    out_console.print(
        f"{res.observed_n:,} observed, {res.unobserved_n:,} unobserved, {res.strata} strata/cells"
    )
    out_console.print(_table(res.rows, "observed − unobserved"))
    out_console.print(f"finding: {res.finding.headline()}")
    for note in res.notes:
        out_console.print(f"note: {note}")


@turnout_app.command("lists")
@guarded
def lists_command(
    files: Annotated[list[Path], typer.Argument(help="Elections of one country, earliest first.")],
    names: Annotated[
        list[str] | None, typer.Option("--name", help="Label of each election (repeatable).")
    ] = None,
    by: Annotated[str, typer.Option(help="Territory column.")] = "region",
    control: Annotated[
        Path | None, typer.Option(help="A clean control election, to measure false alarms.")
    ] = None,
    control_by: Annotated[str, typer.Option(help="Territory column of the control.")] = "region",
    level: Annotated[float, typer.Option(help="Family-wise level (Holm) or FDR (BH).")] = 0.01,
    correction: Annotated[str, typer.Option(help="holm | bh")] = "holm",
    json_out: Json = False,
) -> None:
    """Stations matched across elections, list jumps, 99% turnout, mobile and absentee shares.

    Example: ``saylau turnout lists 2011.csv.zip 2012.csv.zip --control poland.csv.zip``
    """
    cal = None
    if control is not None:
        cal = calibrate_voter_lists(
            read_protocols(control), by=control_by, level=level, correction=correction
        )
    res = voter_list_checks(
        [read_protocols(f) for f in files],
        names=names or [f.name for f in files],
        by=by,
        level=level,
        correction=correction,
        calibration=cal,
    )
    if json_out:
        print_json(res)
        return
    for key, m in res.matches.items():
        out_console.print(
            f"{key}: {m.matched:,} stations matched ({m.share_a:.1%} of the first, "
            f"{m.share_b:.1%} of the second); by rule {m.by_rule}"
        )
    out_console.print(f"finding: {res.finding.headline()}")
    alarms = (
        res.territories.filter(pl.col("alarm"))
        .sort("pvalue")
        .select("check", "election", "territory", "stations", "flagged", "expected", "pvalue_adj")
    )
    out_console.print(_table(alarms, f"{res.estimate} territory alarms", limit=200))
