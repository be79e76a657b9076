"""How a command reads a precinct file: ``--columns``, ``--encoding``, ``--sheet``, ``--skip-rows``.

The options are declared once here and used by every command that reads precinct files; they
are passed as they are to :func:`saylau.io.read_protocols` (which merges them with the mapping
file through :func:`saylau.io.read_options`). The ``saylau columns FILE`` command writes the
mapping saylau recognised for a file, as a TOML file to start from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..io.columnmap import mapping_for_file
from ._app import app, guarded

__all__ = ["ColumnsOpt", "EncodingOpt", "SheetOpt", "SkipRowsOpt", "columns_command", "reading"]

ColumnsOpt = Annotated[
    Path | None,
    typer.Option(
        "--columns",
        metavar="MAP.toml",
        help="Column-mapping file saying which column is which protocol line and choice "
        "(README, 'Formats'); or a shipped mapping: albania-2013, moscow-2011-observers. "
        "`saylau columns FILE` writes one to start from.",
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Text encoding of a CSV file (e.g. cp1251); default detected."),
]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="Sheet of an Excel workbook (default: the first).")
]
SkipRowsOpt = Annotated[
    int | None,
    typer.Option("--skip-rows", min=0, help="Lines above the header to skip (titles, notes)."),
]


def reading(
    columns: Path | None, encoding: str | None, sheet: str | None, skip_rows: int | None
) -> dict[str, Any]:
    """The reading options as keyword arguments of :func:`saylau.io.read_protocols`."""
    return {"columns": columns, "encoding": encoding, "sheet": sheet, "skip_rows": skip_rows}


@app.command("columns")
@guarded
def columns_command(
    file: Annotated[
        Path, typer.Argument(help="A precinct file saylau recognises (CSV, Parquet, Excel).")
    ],
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    skip_rows: SkipRowsOpt = None,
) -> None:
    """Write the column mapping saylau recognised for FILE, as TOML, to standard output.

    Edit it for a file saylau does not recognise, then read that file with `--columns`.

    Example: [cyan]saylau columns ../shared/data/russia/2011.csv.zip > map.toml[/]
    """
    mapping = mapping_for_file(file, encoding=encoding, sheet=sheet, skip_rows=skip_rows)
    text = mapping.to_toml(
        comment=f"saylau column mapping, written for {file.name} (recognised as {mapping.name}).\n"
        "Read a file of this layout with: saylau validate FILE --columns THIS.toml"
    )
    typer.echo(text, nl=False)
