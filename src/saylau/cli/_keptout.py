"""One renderer for the rows a command kept out, shared by every command that reads a file.

Every command lists each kept-out row (file, row, station, field, what was found) in its
terminal output, says how many there were, and puts them in its ``--json`` under the same keys:
``kept_out`` (the list), ``kept_out_count`` and ``stations_without_data`` (rows with no figures
at all, counted apart from the stations). The survey commands call the same two functions with
the rows their own readers kept out.

Examples
--------
>>> from saylau.domain.table import RowProblem
>>> p = RowProblem("a.csv", 3, "17", "valid", "negative count", "integer >= 0", "-4")
>>> payload = kept_out_json([p])
>>> payload["kept_out_count"], payload["kept_out"][0]["row"], payload["stations_without_data"]
(1, 3, 0)
>>> kept_out_lines([p])
['1 row kept out:', 'kept out: a.csv, row 3, station 17, field valid: negative count (expected integer >= 0, found -4)']
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console

from ..domain.table import ProtocolTable, RowProblem
from ..results import to_jsonable

__all__ = ["kept_out_json", "kept_out_lines", "print_kept_out"]

#: Kept-out rows listed in the terminal before "... and N more" (all are in ``--json``).
TERMINAL_LIMIT = 50


def kept_out_json(
    rejected: Sequence[RowProblem], no_data: Sequence[RowProblem] = ()
) -> dict[str, Any]:
    """The shared JSON keys: ``kept_out``, ``kept_out_count``, ``stations_without_data``."""
    return {
        "kept_out_count": len(rejected),
        "kept_out": [to_jsonable(p) for p in rejected],
        "stations_without_data": len(no_data),
    }


def reading_json(table: ProtocolTable) -> dict[str, Any]:
    """How the file was read: ``reading`` = source, profile, encoding and the reader's notes
    (layout detected, lines computed, encoding chosen), so a JSON consumer sees what the
    terminal shows."""
    return {
        "reading": {
            "source": table.source,
            "profile": table.profile.name,
            "encoding": table.encoding,
            "notes": list(table.notes),
        }
    }


def kept_out_lines(
    rejected: Sequence[RowProblem],
    no_data: Sequence[RowProblem] = (),
    *,
    limit: int = TERMINAL_LIMIT,
    what: str = "row",
) -> list[str]:
    """The terminal lines: a count, then one line per kept-out row (file, row, station, field)."""
    lines: list[str] = []
    if rejected:
        n = len(rejected)
        lines.append(f"{n} {what}{'' if n == 1 else 's'} kept out:")
        lines += [f"kept out: {p}" for p in rejected[:limit]]
        if n > limit:
            lines.append(f"... and {n - limit} more (all listed with --json, key kept_out)")
    if no_data:
        n = len(no_data)
        lines.append(
            f"{n} station{'' if n == 1 else 's'} without data (no figures at all), "
            "not counted as stations"
        )
    return lines


def print_kept_out(
    console: Console,
    rejected: Sequence[RowProblem],
    no_data: Sequence[RowProblem] = (),
    *,
    limit: int = TERMINAL_LIMIT,
    what: str = "row",
) -> None:
    """Print :func:`kept_out_lines`, each on one unwrapped line, red for the kept-out rows."""
    for line in kept_out_lines(rejected, no_data, limit=limit, what=what):
        style = "red" if line.startswith("kept out") else "yellow"
        console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)
