"""Reading national vote totals: a CSV of ``choice,votes`` rows (for seat allocation).

A row whose choice is ``against_all``, "Against all", "Против всех" or "Барлығына қарсы" (any
case) is the Against-all line; it is kept like any other choice.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .._exceptions import DataFormatError, EmptyInputError
from ..domain.choices import is_against_all, normalize_name
from .text import read_text

__all__ = ["read_votes_csv"]

_CHOICE_HEADERS = frozenset({"choice", "party", "list", "name", "candidate"})
_VOTES_HEADERS = frozenset({"votes", "count", "vote"})
_GROUPED = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+")


def _parse_count(text: str, name: str, row: int) -> int:
    cell = text.strip()
    if cell.isdigit() and cell.isascii():
        return int(cell)
    if _GROUPED.fullmatch(cell):
        return int(re.sub(r"\D", "", cell))
    what = "negative" if cell.startswith("-") else "not a whole number"
    raise DataFormatError(
        f"vote count is {what}",
        file=name,
        row=row,
        field="votes",
        expected="integer >= 0",
        found=repr(text),
    )


def read_votes_csv(path: str | Path) -> dict[str, int]:
    """Read a ``choice,votes`` CSV file (UTF-8, BOM allowed; ``,`` ``;`` or tab separated).

    The order of the rows is kept: it is the registration order used to break ties. Thousands
    grouped by spaces (``3 431 510``) are accepted; anything else that is not a whole number
    is refused with the file, row and field.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as f:
    ...     _ = f.write("choice,votes\\nAmanat,3 431 510\\nПротив всех,248291\\n")
    >>> read_votes_csv(f.name)
    {'Amanat': 3431510, 'Против всех': 248291}
    >>> os.unlink(f.name)
    """
    name = str(path)
    # same decoding as the protocol reader: UTF-8 (BOM or not), else cp1251 detected; zip, gz
    text, _note = read_text(Path(path))
    first = text.lstrip().splitlines()[0]
    delim = max((",", ";", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    header_at = next(i for i, r in enumerate(rows) if any(c.strip() for c in r))
    header = [normalize_name(c) for c in rows[header_at]]
    choice_col = next((i for i, h in enumerate(header) if h in _CHOICE_HEADERS), None)
    votes_col = next((i for i, h in enumerate(header) if h in _VOTES_HEADERS), None)
    if choice_col is None or votes_col is None:
        raise DataFormatError(
            "missing header",
            file=name,
            row=header_at + 1,
            field="header",
            expected="choice,votes",
            found=delim.join(rows[header_at]),
        )
    out: dict[str, int] = {}
    seen: dict[str, tuple[str, int]] = {}
    against_all_row: int | None = None
    # rows numbered as in a spreadsheet (and as saylau.io.read_protocols does): header = 1
    for row_no, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) <= max(choice_col, votes_col):
            raise DataFormatError(
                "row has too few fields",
                file=name,
                row=row_no,
                field="votes",
                expected=f"{len(header)} fields",
                found=len(cells),
            )
        choice = cells[choice_col].strip()
        if not choice:
            raise DataFormatError(
                "empty choice name",
                file=name,
                row=row_no,
                field="choice",
                expected="a name",
                found="''",
            )
        count = _parse_count(cells[votes_col], name, row_no)
        norm = normalize_name(choice)
        if norm in seen:
            raise DataFormatError(
                "duplicate choice",
                file=name,
                row=row_no,
                field="choice",
                expected="each choice once",
                found=f"{choice!r} (also row {seen[norm][1]})",
            )
        if is_against_all(choice):
            if against_all_row is not None:
                raise DataFormatError(
                    "two Against-all rows",
                    file=name,
                    row=row_no,
                    field="choice",
                    expected="one Against-all line",
                    found=f"{choice!r} (also row {against_all_row})",
                )
            against_all_row = row_no
        seen[norm] = (choice, row_no)
        out[choice] = count
    if not out:
        raise EmptyInputError(
            "file has a header but no rows", file=name, expected="choice,votes rows"
        )
    return out
