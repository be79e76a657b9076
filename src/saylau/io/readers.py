"""Reading precinct results into a :class:`~saylau.domain.table.ProtocolTable`.

CSV (plain, ``.zip`` or ``.gz``), Parquet and Excel are read with Polars, every cell first as
text, then parsed into integers column by column. An empty cell or a lone dash means "no
figure" (null: territories without data are kept and counted, not filled with 0). A cell that is
not a non-negative integer keeps its row out of the table and is reported (file, row, column,
expected, found) in ``table.rejected``; the rest of the file is still read. Rows are numbered
as in a spreadsheet: the header is row 1, the first data row is row 2.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "n.csv"
>>> _ = p.write_text("station,region,voters_on_list,issued,invalid,valid,Amanat,against_all\\n"
...                  "1,Алматы,100,60,2,58,50,8\\n2,Алматы,100,x,1,40,30,10\\n", encoding="utf-8")
>>> t = read_protocols(p)
>>> bad = t.rejected[0]
>>> t.stations, t.against_all.name, bad.row, bad.field, bad.message, bad.found
(1, 'against_all', 3, 'issued', 'not a whole number', 'x')
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .._exceptions import DataFormatError, EmptyInputError
from ..domain.choices import Choice
from ..domain.profiles import get_profile
from ..domain.table import ProtocolTable, RowProblem
from .columnmap import ColumnMapping, read_options
from .mappings import detect_mapping
from .text import check_header, decode_bytes, read_bytes, sniff_separator

__all__ = ["read_frame", "read_protocols"]

_ROW = "__row"
#: Name of the column that holds each record's spreadsheet row number in :func:`read_frame`.
ROW_COLUMN = _ROW


def _nth_line(text: str, n: int) -> str:
    """Line ``n`` (0-based) of a text, for sniffing the separator below skipped rows."""
    lines = text.split("\n", n + 1)
    return lines[n] if len(lines) > n else ""


def _polars_csv(data: bytes, sep: str, skip_rows: int, header: bool) -> pl.DataFrame:
    return pl.read_csv(
        data,
        separator=sep,
        infer_schema_length=0,
        raise_if_empty=False,
        has_header=header,
        skip_rows=skip_rows,
    )


def _read_csv(
    p: Path, encoding: str | None, skip_rows: int = 0, header: bool = True
) -> tuple[pl.DataFrame, str | None, str]:
    """CSV bytes straight to Polars when UTF-8 (Polars checks it); decode otherwise.

    Returns the frame, a note saying which encoding was used and how, and that encoding.
    """
    raw, member = read_bytes(p)
    if not raw or raw.isspace():
        raise EmptyInputError("file is empty", file=str(p))
    head4k = raw[:4096]
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff")) or head4k.count(0) > len(head4k) // 4
    if encoding is None and not utf16:
        bom = raw.startswith(b"\xef\xbb\xbf")
        body = raw[3:] if bom else raw
        head = b"\n".join(body.split(b"\n", skip_rows + 1)[skip_rows : skip_rows + 1])
        try:
            sep = sniff_separator(head.decode("utf-8"))
            frame = _polars_csv(body, sep, skip_rows, header)
            used = "utf-8-sig" if bom else "utf-8"
            return frame, f"{member}: decoded as {used}", used
        except UnicodeDecodeError:
            pass
        except pl.exceptions.ComputeError as exc:
            if "utf-8" not in str(exc).lower() and "utf8" not in str(exc).lower():
                raise
    decoded = decode_bytes(raw, name=member if encoding is None else str(p), encoding=encoding)
    text = decoded.text
    sep = sniff_separator(_nth_line(text, skip_rows))
    return _polars_csv(text.encode("utf-8"), sep, skip_rows, header), decoded.note, decoded.encoding


def read_frame(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_rows: int = 0,
    header: bool = True,
) -> tuple[pl.DataFrame, list[str]]:
    """Read any supported file as an all-text frame plus notes (encoding used...).

    A ``__row`` column holds the spreadsheet row number of each record (the header, when there
    is one, is row ``skip_rows + 1``). Without a header the columns are named ``"1"``,
    ``"2"``... by position. ``skip_rows`` lines above the header are skipped (CSV and Excel).
    """
    frame, notes, _ = _read_frame(
        path, encoding=encoding, sheet=sheet, skip_rows=skip_rows, header=header
    )
    return frame, notes


def _read_frame(
    path: str | Path,
    *,
    encoding: str | None,
    sheet: str | None,
    skip_rows: int = 0,
    header: bool = True,
) -> tuple[pl.DataFrame, list[str], str | None]:
    """:func:`read_frame`, also returning the text encoding used (None for binary formats)."""
    used: str | None = None
    p = Path(path)
    notes: list[str] = []
    lower = p.name.lower()
    try:
        if lower.endswith(".parquet"):
            if not p.exists():
                raise DataFormatError("file not found", file=str(p))
            if skip_rows or not header:
                raise DataFormatError(
                    "a Parquet file has named columns: no rows to skip, no missing header",
                    file=str(p),
                    field="skip_rows" if skip_rows else "header",
                )
            frame = pl.read_parquet(p)
            frame = frame.select(pl.all().cast(pl.Utf8))
        elif lower.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
            if not p.exists():
                raise DataFormatError("file not found", file=str(p))
            frame = pl.read_excel(
                p,
                sheet_name=sheet,
                infer_schema_length=0,
                raise_if_empty=False,
                has_header=header,
                read_options={"header_row": skip_rows} if header else {"skip_rows": skip_rows},
            )
            frame = frame.select(pl.all().cast(pl.Utf8))
        else:
            frame, note, used = _read_csv(p, encoding, skip_rows, header)
            if note:
                notes.append(note)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        msg = str(exc).splitlines()[0]
        raise DataFormatError(f"cannot be read as a table: {msg}", file=str(p)) from None
    except ValueError as exc:  # fastexcel: unknown sheet name
        if sheet is None or "sheet" not in str(exc).lower():
            raise
        raise DataFormatError(
            "no such sheet in the workbook", file=str(p), field="sheet", found=sheet
        ) from None
    if frame.width == 0 or frame.height == 0:
        raise EmptyInputError("file has no data rows", file=str(p))
    if header:
        # Polars keeps the doubled quotes of quoted header cells: undo CSV quoting in names
        frame = frame.rename(
            {c: c.strip().lstrip("\ufeff").replace('""', '"') for c in frame.columns}
        )
        check_header(frame.columns, file=str(p), encoding=used)
    else:
        frame = frame.rename({c: str(i) for i, c in enumerate(frame.columns, start=1)})
    return frame.with_row_index(_ROW, offset=skip_rows + (2 if header else 1)), notes, used


def _parse_counts(
    frame: pl.DataFrame, columns: list[str], *, file: str, station: pl.Series
) -> tuple[pl.DataFrame, list[RowProblem]]:
    """Parse text columns into Int64; report every bad cell."""
    problems: list[RowProblem] = []
    # fast path: columns whose every non-empty cell is a plain integer need no cleaning
    direct = frame.select([pl.col(c).cast(pl.Int64, strict=False).alias(c) for c in columns])
    lost = frame.select(
        [(pl.col(c).is_not_null() & direct.get_column(c).is_null()).any().alias(c) for c in columns]
    ).row(0)
    dirty = [c for c, flag in zip(columns, lost, strict=True) if flag]
    if not dirty:
        parsed = direct.with_columns(frame.get_column(_ROW))
        if not any((parsed.get_column(c) < 0).any() for c in columns):
            bad = pl.Series("__bad", [False] * frame.height)
            return parsed.with_columns(bad), problems
    exprs = []
    for col in columns:
        text = pl.col(col).cast(pl.Utf8).str.strip_chars().str.replace_all(r"[\u00a0\u202f ]", "")
        # an empty cell or a dash means "no figure" (territories without data): null, not 0
        text = pl.when(text.is_in(["", "-", "\u2013", "\u2014"])).then(None).otherwise(text)
        # "12.0" (from spreadsheets) is a whole number; "12.5" is not
        text = text.str.replace(r"^(-?\d+)\.0+$", "$1")
        exprs.append(text.alias(col))
    cleaned = frame.select([pl.col(_ROW), *exprs])
    parsed = cleaned.select(
        [pl.col(_ROW), *[pl.col(c).cast(pl.Int64, strict=False).alias(c) for c in columns]]
    )
    bad_any = pl.repeat(False, frame.height, eager=True)
    for col in columns:
        raw = cleaned.get_column(col)
        val = parsed.get_column(col)
        not_int = raw.is_not_null() & val.is_null()
        negative = val.is_not_null() & (val < 0)
        for mask, message in ((not_int, "not a whole number"), (negative, "negative count")):
            if mask.any():
                idx = mask.arg_true()
                rows = parsed.get_column(_ROW).gather(idx).to_list()
                found = raw.gather(idx).to_list()
                ids = station.gather(idx).to_list()
                problems.extend(
                    RowProblem(file, int(r), str(s), col, message, "integer >= 0", str(f))
                    for r, s, f in zip(rows, ids, found, strict=True)
                )
                bad_any = bad_any | mask
    return parsed.with_columns(pl.Series("__bad", bad_any)), problems


def read_protocols(
    path: str | Path,
    *,
    profile: str | None = None,
    columns: ColumnMapping | str | Path | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_rows: int | None = None,
) -> ProtocolTable:
    """Read a file of precinct protocols.

    Parameters
    ----------
    path : str or Path
        CSV (``.csv``, ``.csv.zip``, ``.csv.gz``; separator and UTF-8/cp1251 detected),
        Parquet or Excel.
    profile : str, optional
        Protocol profile name (see :data:`saylau.domain.profiles.PROFILES`); by default the
        mapping's (e.g. ``ru-federal-2011`` for a Russian 18-line file).
    columns : ColumnMapping, or the path of a TOML mapping file, optional
        How columns map to lines and choices (see :mod:`saylau.io.columnmap`); by default
        recognised from the header.
    encoding : str, optional
        Force a text encoding instead of detecting it (wins over the mapping's).
    sheet : str, optional
        Excel sheet name (default: the mapping's, else the first).
    skip_rows : int, optional
        Lines above the header to skip (default: the mapping's, else 0).

    Returns
    -------
    ProtocolTable
        Rows with a bad cell are kept out and listed in ``rejected``; so are stations whose id
        appears more than once with different figures (identical copies are kept once and
        reported), and rows where a mapping's computed ``others`` choice would be negative.

    Raises
    ------
    DataFormatError, EmptyInputError, EncodingError, UnknownNameError, ColumnMappingError
        When the file as a whole cannot be read: not found, empty, undecodable, unknown header,
        no choice columns, unknown profile, a mapping that does not fit the file.

    Examples
    --------
    A three-column research file, the other choices computed as valid - leader:

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "r.csv").write_text("reg,ballots,leader\\n1000,600,400\\n800,500,450\\n")
    >>> m = ColumnMapping.from_toml(\'\'\'
    ... [lines]
    ... voters_on_list = "reg"
    ... valid = "ballots"
    ... [choices]
    ... columns = ["leader"]
    ... others = "others"
    ... \'\'\')
    >>> t = read_protocols(d / "r.csv", columns=m)
    >>> t.totals(), t.frame.get_column("station").to_list()
    ({'leader': 850, 'others': 250}, ['2', '3'])
    """
    file = str(path)
    opts = read_options(columns, encoding=encoding, sheet=sheet, skip_rows=skip_rows)
    frame, notes, used = _read_frame(
        path,
        encoding=opts.encoding,
        sheet=opts.sheet,
        skip_rows=opts.skip_rows,
        header=opts.header,
    )
    names = [c for c in frame.columns if c != _ROW]
    given = get_profile(profile) if profile else None
    m = (opts.mapping or detect_mapping(names, file=file, profile=given)).resolve(names, file=file)
    notes.extend(m.notes)
    prof = given or get_profile(m.profile or "plain")
    # after resolve() every column is a name of this file
    station_cols = [str(c) for c in m.station]
    line_cols = {key: [str(c) for c in cols] for key, cols in m.lines.items()}
    choice_cols = [str(c) for c in m.choices or ()]
    choice_names = list(m.choice_names) or choice_cols

    if station_cols:
        station = (
            frame.select(
                pl.concat_str(
                    [pl.col(c).cast(pl.Utf8).fill_null("").str.strip_chars() for c in station_cols],
                    separator=" / ",
                )
            )
            .to_series()
            .alias("station")
        )
    else:
        station = frame.get_column(_ROW).cast(pl.Utf8).alias("station")
        notes.append("the mapping names no station column: stations are numbered by their row")
    count_cols = sorted({c for cols in line_cols.values() for c in cols} | set(choice_cols))
    if opts.missing:
        frame = frame.with_columns(
            pl.when(pl.col(c).str.strip_chars().is_in(list(opts.missing)))
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in count_cols
        )
    parsed, problems = _parse_counts(frame, count_cols, file=file, station=station)

    out_cols: list[pl.Series | pl.Expr] = [station]
    for level, src in m.levels.items():
        out_cols.append(frame.get_column(str(src)).cast(pl.Utf8).str.strip_chars().alias(level))
    line_exprs = []
    for key, cols in line_cols.items():
        if len(cols) == 1:
            line_exprs.append(pl.col(cols[0]).alias(key))
        else:
            # a line made of several columns: null only if all parts are null
            line_exprs.append(
                pl.when(pl.any_horizontal([pl.col(c).is_not_null() for c in cols]))
                .then(pl.sum_horizontal([pl.col(c) for c in cols]))
                .otherwise(None)
                .alias(key)
            )
    all_names = [*choice_names, *([m.others] if m.others is not None else [])]
    all_ids = _unique_ids(tuple(all_names))
    choice_exprs = [pl.col(src).alias(cid) for src, cid in zip(choice_cols, all_ids, strict=False)]
    body = parsed.select([pl.col(_ROW), pl.col("__bad"), *line_exprs, *choice_exprs])
    table = pl.concat([pl.DataFrame(out_cols), body], how="horizontal")
    if m.others is not None:
        table = _computed_others(table, all_ids[-1], all_ids[:-1], file, problems)

    problems.extend(_duplicates(table, file))
    dup_bad = {(p.row) for p in problems if p.field == "station"}
    keep = ~table.get_column("__bad")
    if dup_bad:
        keep = keep & ~table.get_column(_ROW).is_in(list(dup_bad))
    kept = table.filter(keep).drop("__bad", _ROW)

    empty = kept.select(pl.all_horizontal([pl.col(k).is_null() for k in m.lines]).sum()).item()
    if empty:
        notes.append(f"{empty} rows have no protocol figures at all (territories without data)")
    if m.ignored:
        notes.append(f"columns not read: {', '.join(str(c) for c in m.ignored)}")
    if not {"issued", "issued_early", "issued_in_station", "issued_outside"} & set(m.lines):
        notes.append("no ballots-issued line: turnout counts the ballots found (valid + invalid)")
    choices = tuple(
        Choice.from_name(src, order=i, kind="candidate")
        if cid == src
        else Choice(id=cid, name=src, order=i)
        for i, (src, cid) in enumerate(zip(all_names, all_ids, strict=True))
    )
    return ProtocolTable(
        frame=kept,
        profile=prof,
        choices=choices,
        levels=tuple(m.levels),
        source=file,
        rejected=tuple(sorted(problems, key=lambda p: (p.row or 0, p.field or ""))),
        notes=tuple(notes),
        encoding=used,
    )


def _computed_others(
    table: pl.DataFrame, others: str, ids: list[str], file: str, problems: list[RowProblem]
) -> pl.DataFrame:
    """Add the mapping's computed choice: valid minus the listed choices (negative: kept out)."""
    value = pl.col("valid") - pl.sum_horizontal([pl.col(c).fill_null(0) for c in ids])
    table = table.with_columns(value.alias(others))
    col = table.get_column(others)
    negative = col.is_not_null() & (col < 0)
    if negative.any():
        for row in table.filter(negative).iter_rows(named=True):
            problems.append(
                RowProblem(
                    file,
                    int(row[_ROW]),
                    str(row["station"]),
                    others,
                    "valid votes fewer than the sum of the choice columns",
                    "valid - sum of choices >= 0",
                    str(row[others]),
                )
            )
        table = table.with_columns((pl.col("__bad") | negative).alias("__bad"))
    return table


def _unique_ids(names: tuple[str, ...]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = n.strip()
        if k in seen:
            seen[k] += 1
            k = f"{k} ({seen[k]})"
        else:
            seen[k] = 1
        out.append(k)
    return out


def _duplicates(table: pl.DataFrame, file: str) -> list[RowProblem]:
    """Stations whose id appears more than once.

    Identical copies: the first is kept, the others reported. Conflicting copies: all are kept
    out and reported, since saylau cannot know which one is right.
    """
    dup = table.get_column("station").is_duplicated()
    if not dup.any():
        return []
    rows = table.filter(dup)
    value_cols = [c for c in rows.columns if c not in (_ROW, "__bad")]
    problems = []
    for (sid,), group in rows.group_by(["station"], maintain_order=True):
        first_row = int(group.get_column(_ROW).min())  # type: ignore[arg-type]
        identical = group.select(value_cols).unique().height == 1
        for r in group.get_column(_ROW).to_list():
            if identical and r == first_row:
                continue
            problems.append(
                RowProblem(
                    file,
                    int(r),
                    str(sid),
                    "station",
                    "duplicate station id (identical copy, first kept)"
                    if identical
                    else "duplicate station id with different figures (all copies kept out)",
                    "a unique station id",
                    f"also at row {first_row}" if r != first_row else "first of several",
                )
            )
    return problems
