"""CLI command ``saylau plot KIND FILE``: one figure, as PNG and SVG, in the chosen language.

Reads the file(s), calls :func:`saylau.report.figures.make_figure` and writes the files; no
statistics and no drawing here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .._exceptions import DataFormatError, EmptyInputError
from ..domain.table import ProtocolTable
from ..io import read_protocols
from ..report.figures import FIGURE_KINDS, make_figure, save_figure
from ._app import app, err_console, guarded, out_console
from ._columns import ColumnsOpt, EncodingOpt, SheetOpt, SkipRowsOpt, reading
from ._keptout import print_kept_out
from ._paths import output_folder

__all__ = ["plot_command"]


def _read(file: Path, options: dict[str, Any]) -> ProtocolTable:
    table = read_protocols(file, **options)
    print_kept_out(err_console, table.rejected, table.no_data)
    if table.stations == 0:
        raise EmptyInputError(
            "no station left to draw", file=str(file), expected="a row read in full"
        )
    return table


@app.command("plot")
@guarded
def plot_command(
    kind: Annotated[str, typer.Argument(help="Figure: " + " | ".join(FIGURE_KINDS) + ".")],
    file: Annotated[Path, typer.Argument(help="Precinct file any saylau reader can read.")],
    lang: Annotated[str, typer.Option("--lang", help="Language: kk | ru | en.")] = "en",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="STEM", help="Write STEM.png and STEM.svg (default: KIND)."),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option("--reference", help="A reference election drawn beside it (same reader)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Data source named on the figure (default: file name)."),
    ] = None,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
) -> None:
    """Write one forensic figure of FILE as PNG and SVG (for articles and posts).

    The figure runs the forensic method it shows (seed 0) and prints its finding under the
    panel. Example: [cyan]saylau plot fingerprint russia-2011.csv.zip --lang ru --out fp[/]
    """
    stem = out if out is not None else Path(kind)
    if stem.exists() and stem.is_dir():
        raise DataFormatError(
            "the output stem is a folder",
            file=str(stem),
            field="--out",
            expected="a file name without extension",
            found="a folder",
        )
    options = reading(columns, encoding, sheet, skip_rows)
    table = _read(file, options)
    ref = _read(reference, options) if reference is not None else None
    fig = make_figure(
        kind,
        table,
        lang=lang,
        source=source or file.name,
        reference=ref,
        reference_source=reference.name if reference is not None else None,
    )
    if fig is None:
        err_console.print(f"{kind}: this figure does not apply to {file.name}", soft_wrap=True)
        raise typer.Exit(1)
    output_folder(stem.parent if str(stem.parent) else Path("."), option="--out")
    png, svg = save_figure(fig, stem)
    out_console.print(fig.caption, soft_wrap=True, markup=False)
    out_console.print(f"{png}\n{svg}", markup=False)
