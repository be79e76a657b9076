"""Reading vote totals: a CSV of ``choice,votes`` rows, national or per unit (one reader).

Seat allocation reads national totals (:func:`read_votes_csv`: whole numbers); the survey
comparisons read official results (:func:`saylau.survey.official.read_official`) through the
same :func:`read_choice_table`, which also takes shares and a unit column (``station`` or
``stratum``). A row whose choice is ``against_all``, "Against all", "Против всех" or "Барлығына
қарсы" (any case) is the Against-all line; it is kept like any other choice, once per unit.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from .._exceptions import DataFormatError, EmptyInputError
from ..domain.choices import is_against_all, normalize_name
from .text import read_text

__all__ = ["looks_like_choice_table", "read_choice_table", "read_votes_csv"]

_CHOICE_HEADERS = frozenset({"choice", "party", "list", "name", "candidate"})
_VOTES_HEADERS = frozenset({"votes", "count", "vote"})
_SHARE_HEADERS = frozenset({"share", "percent", "pct", "%"})
_UNIT_HEADERS = ("station", "stratum")
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


def _parse_share(text: str, field: str, name: str, row: int) -> float:
    cell = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise DataFormatError(
            "not a number >= 0",
            file=name,
            row=row,
            field=field,
            expected=">= 0",
            found=repr(text),
        )
    return value


def _rows(path: str | Path) -> tuple[list[list[str]], int, str]:
    text, _note = read_text(Path(path))
    lines = text.lstrip().splitlines()
    if not lines:
        raise EmptyInputError("file is empty", file=str(path), expected="choice,votes rows")
    delim = max((",", ";", "\t"), key=lines[0].count)
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    header_at = next(i for i, r in enumerate(rows) if any(c.strip() for c in r))
    return rows, header_at, delim


def looks_like_choice_table(path: str | Path) -> str | None:
    """``"national"``, ``"station"`` or ``"stratum"`` when the file's header is a choice table
    (a choice column and a votes or share column), else ``None`` (e.g. a precinct file)."""
    try:
        rows, at, _ = _rows(path)
    except (DataFormatError, EmptyInputError, StopIteration):
        return None
    header = [normalize_name(c) for c in rows[at]]
    has_choice = any(h in _CHOICE_HEADERS for h in header)
    has_value = any(h in _VOTES_HEADERS or h in _SHARE_HEADERS for h in header)
    if not has_value or len(header) > 4 or (not has_choice and len(header) > 2):
        return None  # a precinct file (or a choice table missing its choice column: refused)
    return next((u for u in _UNIT_HEADERS if u in header), "national")


def read_choice_table(
    path: str | Path, *, by: str | None = None, shares: bool = False
) -> dict[str, dict[str, float]]:
    """Figures per unit and choice from a ``[unit,]choice,votes`` CSV (``""`` is the unit
    without ``by``).

    Parameters
    ----------
    path : str or Path
        UTF-8 (BOM allowed) or cp1251, ``,`` ``;`` or tab separated; zip and gz unpacked.
    by : str, optional
        Name of the unit column (``station``, ``stratum``): one row per unit and choice.
    shares : bool
        Also accept a ``share``/``percent`` column, and any number >= 0 (fractions or
        percentages, decimal comma, ``%``); without it the values are whole vote counts.

    Returns
    -------
    dict
        ``{unit: {choice: value}}`` in file order.

    Raises
    ------
    DataFormatError
        Naming the file, the spreadsheet row (header = row 1) and the field: a missing header,
        an empty name, a bad number, a choice twice (after case and space normalisation), two
        Against-all lines for one unit.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("stratum;choice;share\\nN;A;55,5%\\nN;B;44.5\\n", encoding="utf-8")
    >>> read_choice_table(p, by="stratum", shares=True)
    {'N': {'A': 55.5, 'B': 44.5}}
    """
    name = str(path)
    rows, header_at, delim = _rows(path)
    header = [normalize_name(c) for c in rows[header_at]]
    choice_col = next((i for i, h in enumerate(header) if h in _CHOICE_HEADERS), None)
    votes_col = next((i for i, h in enumerate(header) if h in _VOTES_HEADERS), None)
    share_col = next((i for i, h in enumerate(header) if h in _SHARE_HEADERS), None)
    value_col = votes_col if votes_col is not None or not shares else share_col
    unit_col = None
    if by is not None:
        unit_col = next((i for i, h in enumerate(header) if h == normalize_name(by)), None)
    if choice_col is None or value_col is None or (by is not None and unit_col is None):
        want = ("" if by is None else f"{by},") + "choice,votes" + (" (or share)" if shares else "")
        raise DataFormatError(
            "missing header",
            file=name,
            row=header_at + 1,
            field="header",
            expected=want,
            found=delim.join(rows[header_at]),
        )
    field = rows[header_at][value_col].strip()
    out: dict[str, dict[str, float]] = {}
    seen: dict[tuple[str, str], int] = {}
    against_all_row: dict[str, int] = {}
    wanted = max(c for c in (choice_col, value_col, unit_col) if c is not None)
    # rows numbered as in a spreadsheet (and as saylau.io.read_protocols does): header = 1
    for row_no, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) <= wanted:
            raise DataFormatError(
                "row has too few fields",
                file=name,
                row=row_no,
                field=field,
                expected=f"{len(header)} fields",
                found=len(cells),
            )
        unit = "" if unit_col is None else cells[unit_col].strip()
        if unit_col is not None and not unit:
            raise DataFormatError(
                f"empty {by}", file=name, row=row_no, field=by, expected="a name", found="''"
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
        if value_col == votes_col and not shares:
            value = float(_parse_count(cells[value_col], name, row_no))
        else:
            value = _parse_share(cells[value_col], field, name, row_no)
        norm = normalize_name(choice)
        where = "" if unit_col is None else f" for {by} {unit}"
        if (unit, norm) in seen:
            raise DataFormatError(
                "duplicate choice" + where,
                file=name,
                row=row_no,
                field="choice",
                expected="each choice once" + ("" if unit_col is None else f" per {by}"),
                found=f"{choice!r} (also row {seen[(unit, norm)]})",
            )
        if is_against_all(choice):
            if unit in against_all_row:
                raise DataFormatError(
                    "two Against-all rows" + where,
                    file=name,
                    row=row_no,
                    field="choice",
                    expected="one Against-all line",
                    found=f"{choice!r} (also row {against_all_row[unit]})",
                )
            against_all_row[unit] = row_no
        seen[(unit, norm)] = row_no
        out.setdefault(unit, {})[choice] = value
    if not out:
        raise EmptyInputError(
            "file has a header but no rows", file=name, expected="choice,votes rows"
        )
    return out


def read_votes_csv(path: str | Path) -> dict[str, int]:
    """Read a national ``choice,votes`` CSV file of whole vote counts (for seat allocation).

    The order of the rows is kept: it is the registration order used to break ties. Thousands
    grouped by spaces (``3 431 510``) are accepted; anything else that is not a whole number
    is refused with the file, row and field (:func:`read_choice_table`).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as f:
    ...     _ = f.write("choice,votes\\nAmanat,3 431 510\\nПротив всех,248291\\n")
    >>> read_votes_csv(f.name)
    {'Amanat': 3431510, 'Против всех': 248291}
    >>> os.unlink(f.name)
    """
    return {c: int(v) for c, v in read_choice_table(path)[""].items()}
