"""Reading precinct results into a :class:`~saylau.domain.table.ProtocolTable`.

CSV (plain, ``.zip`` or ``.gz``), Parquet and Excel are read with Polars, every cell first as
text, then parsed into integers column by column. An empty cell or a lone dash means "no
figure" (null, not 0); a row with no figure at all is a station without data, listed in
``table.no_data`` and not counted among the stations. A cell that is not a whole number, is
negative or is too large for a count (above :data:`MAX_COUNT`), a row with more or fewer fields
than the header, an empty station id and a station repeated with other figures keep their row
out of the table; each is reported (file, row, station, field, expected, found) in
``table.rejected`` and the rest of the file is still read. Blank rows are not stations. Rows
are numbered as in a spreadsheet: the header is row 1, the first data row is row 2.

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

import csv
import io
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
    p: Path,
    encoding: str | None,
    skip_rows: int = 0,
    header: bool = True,
    problems: list[RowProblem] | None = None,
) -> tuple[pl.DataFrame, str | None, str]:
    """CSV bytes straight to Polars when UTF-8 (Polars checks it); decode otherwise.

    Returns the frame, a note saying which encoding was used and how, and that encoding. Rows
    whose number of fields differs from the header's are looked for first (see
    :func:`_regular`); when there are any, the file is parsed row by row so that each ragged
    row is reported (``problems``) or raised (``problems is None``) and the rest is still read.
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
            used = "utf-8-sig" if bom else "utf-8"
            frame = _csv_or_rows(body, sep, skip_rows, header, str(p), problems)
            return frame, f"{member}: decoded as {used}", used
        except UnicodeDecodeError:
            pass
        except pl.exceptions.ComputeError as exc:
            if "utf-8" not in str(exc).lower() and "utf8" not in str(exc).lower():
                raise
    decoded = decode_bytes(raw, name=member if encoding is None else str(p), encoding=encoding)
    text = decoded.text
    sep = sniff_separator(_nth_line(text, skip_rows))
    data = text.encode("utf-8")
    frame = _csv_or_rows(data, sep, skip_rows, header, str(p), problems)
    return frame, decoded.note, decoded.encoding


def _csv_or_rows(
    data: bytes,
    sep: str,
    skip_rows: int,
    header: bool,
    file: str,
    problems: list[RowProblem] | None,
) -> pl.DataFrame:
    """Polars' fast reader; the row-by-row parser when a row is ragged (header files only)."""
    plain = skip_rows == 0 and header
    if plain and not _regular(data, sep):
        return _read_rows(data.decode("utf-8"), sep, file, problems)
    try:
        return _polars_csv(data, sep, skip_rows, header)
    except pl.exceptions.ComputeError as exc:
        if not plain or "more fields" not in str(exc):
            raise
    return _read_rows(data.decode("utf-8"), sep, file, problems)


def _regular(data: bytes, sep: str) -> bool:
    """Whether every non-blank line has as many separators as the header, quoted parts aside.

    The lines are read as one text column and counted in Polars (a few hundredths of a second
    on a 100,000-row file). A quoted cell spanning lines makes the test fail, which sends the
    file to the row-by-row parser: slower, never wrong.
    """
    try:
        lines = pl.read_csv(
            data,
            has_header=False,
            separator="\x1f",
            quote_char=None,
            new_columns=["line"],
            infer_schema_length=0,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:  # a control character in a cell: let the row parser read it
        return False
    if lines.height == 0:
        return True
    text = pl.col("line").fill_null("")
    counts = lines.select(
        text.str.replace_all('"[^"]*"', "").str.count_matches(sep, literal=True).alias("n"),
        (text.str.strip_chars() == "").alias("blank"),
    )
    want = counts.item(0, "n")
    return bool(counts.select(((pl.col("n") == want) | pl.col("blank")).all()).item())


def _read_rows(text: str, sep: str, file: str, problems: list[RowProblem] | None) -> pl.DataFrame:
    """Parse row by row: ragged rows reported (or raised) and left out, the rest read."""
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=sep)
    header = next(rows, [])
    width = len(header)
    id_at = header.index("station") if "station" in header else None
    cells: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    for i, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            cells_row: list[str] = [""] * width  # a blank row: dropped and counted later
        elif len(row) != width:
            field = header[len(row)] if len(row) < width else f"column {width + 1}"
            problem = RowProblem(
                file,
                i,
                row[id_at].strip() if id_at is not None and id_at < len(row) else None,
                field,
                f"row has {len(row)} fields, the header has {width}",
                f"{width} fields",
                f"{len(row)} fields",
            )
            if problems is None:
                raise DataFormatError(
                    problem.message,
                    file=file,
                    row=i,
                    field=field,
                    expected=problem.expected,
                    found=problem.found,
                )
            problems.append(problem)
            continue
        else:
            cells_row = row
        numbers.append(i)
        for j, c in enumerate(cells_row):
            cells[j].append(c if c != "" else None)
    names = _dedupe(header)
    frame = pl.DataFrame(
        {n: pl.Series(n, col, dtype=pl.Utf8) for n, col in zip(names, cells, strict=True)}
    )
    return frame.with_columns(pl.Series(_ROW, numbers, dtype=pl.UInt32))


def _dedupe(header: list[str]) -> list[str]:
    """Header names made unique as Polars does (``a``, ``a_duplicated_0``...)."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        if h in seen:
            out.append(f"{h}_duplicated_{seen[h]}")
            seen[h] += 1
        else:
            seen[h] = 0
            out.append(h)
    return out


def read_frame(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_rows: int = 0,
    header: bool = True,
    problems: list[RowProblem] | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Read any supported file as an all-text frame plus notes (encoding used...).

    A ``__row`` column holds the spreadsheet row number of each record (the header, when there
    is one, is row ``skip_rows + 1``). Without a header the columns are named ``"1"``,
    ``"2"``... by position. ``skip_rows`` lines above the header are skipped (CSV and Excel).
    Blank rows (every cell empty) are not records: they are dropped and counted in the notes.
    A row with more or fewer fields than the header is appended to ``problems`` and left out,
    the rest of the file being read; without a ``problems`` list it raises
    :class:`DataFormatError` naming it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("station,A\\n1,5\\n2,6,7\\n3,8\\n\\n", encoding="utf-8")
    >>> found: list[RowProblem] = []
    >>> frame, notes = read_frame(p, problems=found)
    >>> frame.get_column("station").to_list(), str(found[0]).split(": ")[1]
    (['1', '3'], 'row has 3 fields, the header has 2 (expected 2 fields, found 3 fields)')
    """
    frame, notes, _ = _read_frame(
        path, encoding=encoding, sheet=sheet, skip_rows=skip_rows, header=header, problems=problems
    )
    return frame, notes


def _read_frame(
    path: str | Path,
    *,
    encoding: str | None,
    sheet: str | None,
    skip_rows: int = 0,
    header: bool = True,
    problems: list[RowProblem] | None = None,
    mapped: bool = False,
) -> tuple[pl.DataFrame, list[str], str | None]:
    """:func:`read_frame`, also returning the text encoding used (None for binary formats)."""
    used: str | None = None
    p = Path(path)
    notes: list[str] = []
    reported = len(problems or ())  # rows reported by this call: those after this count
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
            # blank rows are kept (then dropped and counted below) so row numbers stay true
            frame = pl.read_excel(
                p,
                sheet_name=sheet,
                infer_schema_length=0,
                raise_if_empty=False,
                has_header=header,
                read_options={"header_row": skip_rows} if header else {"skip_rows": skip_rows},
                drop_empty_rows=False,
            )
            frame = frame.select(pl.all().cast(pl.Utf8))
        else:
            frame, note, used = _read_csv(p, encoding, skip_rows, header, problems)
            if note:
                notes.append(note)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        msg = str(exc).splitlines()[0]
        raise DataFormatError(f"cannot be read as a table: {msg}", file=str(p)) from None
    except ValueError as exc:  # fastexcel: unknown sheet name, a sheet with nothing on it
        if isinstance(exc, DataFormatError | EmptyInputError):
            raise
        if sheet is not None and "sheet" in str(exc).lower():
            raise DataFormatError(
                "no such sheet in the workbook", file=str(p), field="sheet", found=sheet
            ) from None
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFormatError(f"cannot be read as a table: {msg}", file=str(p)) from None
    if not header:
        frame = frame.rename({c: str(i) for i, c in enumerate(frame.columns, start=1)})
    if _ROW not in frame.columns:
        frame = frame.with_row_index(_ROW, offset=skip_rows + (2 if header else 1))
    data_cols = [c for c in frame.columns if c != _ROW]
    if not data_cols:
        raise EmptyInputError("file has no columns", file=str(p))
    # columns without a name (a separator at the end of every line, as spreadsheets export):
    # ignored when empty, an error when they hold anything
    unnamed = [c for c in data_cols if c.split("_duplicated_")[0].strip() in ("", "\ufeff")]
    for c in unnamed:
        filled = frame.get_column(c).cast(pl.Utf8).str.strip_chars().fill_null("") != ""
        if filled.any() and mapped:
            # a mapping names columns itself (by position): keep it, named by its position
            name = f"column {data_cols.index(c) + 1}"
            frame = frame.rename({c: name})
            data_cols[data_cols.index(c)] = name
            notes.append(f"{name} has no name in the header: kept as {name!r}")
            continue
        if filled.any():
            i = int(filled.arg_true()[0])
            raise DataFormatError(
                "a column without a name holds figures",
                file=str(p),
                row=int(frame.get_column(_ROW)[i]),
                field=f"column {data_cols.index(c) + 1}",
                expected="a name in the header for every column with data",
                found=frame.get_column(c)[i],
            )
    unnamed = [c for c in unnamed if c in data_cols]
    if unnamed:
        frame = frame.drop(unnamed)
        data_cols = [c for c in data_cols if c not in unnamed]
        notes.append(f"{len(unnamed)} empty columns without a name ignored")
        if not data_cols:
            raise EmptyInputError("file has no named columns", file=str(p))
    for c in data_cols:
        if "_duplicated_" in c:
            raise DataFormatError(
                "column name appears twice in the header",
                file=str(p),
                row=1,
                field=c.split("_duplicated_")[0],
                expected="each column name once",
                found=c.split("_duplicated_")[0],
            )
    # a blank row has an empty first cell: test the few such rows only (cheap on big files)
    first = pl.col(data_cols[0]).cast(pl.Utf8).str.strip_chars().fill_null("") == ""
    blank = frame.select(first).to_series()
    if blank.any():
        blank = frame.select(
            pl.all_horizontal(
                [pl.col(c).cast(pl.Utf8).str.strip_chars().fill_null("") == "" for c in data_cols]
            )
        ).to_series()
    if blank.any():
        frame = frame.filter(~blank)
        notes.append(f"{int(blank.sum())} blank rows skipped (not stations)")
    if frame.height == 0 and len(problems or ()) == reported:
        raise EmptyInputError("file has no data rows", file=str(p))
    # Polars keeps the doubled quotes of quoted header cells: undo CSV quoting in names
    names = {c: c.strip().lstrip("\ufeff").replace('""', '"') for c in data_cols}
    if header:
        check_header(list(names.values()), file=str(p), encoding=used)
    return frame.rename(names).select([_ROW, *names.values()]), notes, used


#: The largest figure accepted as a count: more than the population of the Earth is not a
#: count of voters or ballots but a typing or export error.
MAX_COUNT = 10_000_000_000

_SCIENTIFIC = r"^\d+(\.\d+)?[eE]\+?\d+$"


def _parse_counts(
    frame: pl.DataFrame, columns: list[str], *, file: str, station: pl.Series
) -> tuple[pl.DataFrame, list[RowProblem]]:
    """Parse text columns into Int64; report every bad cell.

    A cell is bad when it is not a whole number ("not a whole number"), below zero ("negative
    count") or above :data:`MAX_COUNT` or beyond 64-bit integers ("number too large for a
    count"). A whole number in scientific notation (``1e3``, from spreadsheets) is read.
    """
    problems: list[RowProblem] = []
    # fast path: columns whose every non-empty cell is a plain integer need no cleaning
    direct = frame.select([pl.col(c).cast(pl.Int64, strict=False).alias(c) for c in columns])
    lost = frame.select(
        [(pl.col(c).is_not_null() & direct.get_column(c).is_null()).any().alias(c) for c in columns]
    ).row(0)
    dirty = [c for c, flag in zip(columns, lost, strict=True) if flag]
    if not dirty:
        parsed = direct.with_columns(frame.get_column(_ROW))
        out_of_range = any(
            ((parsed.get_column(c) < 0) | (parsed.get_column(c) > MAX_COUNT)).any() for c in columns
        )
        if not out_of_range:
            bad = pl.Series("__bad", [False] * frame.height, dtype=pl.Boolean)
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
    values = []
    for c in columns:
        raw_col = pl.col(c)
        as_float = raw_col.cast(pl.Float64, strict=False)
        sci = raw_col.str.contains(_SCIENTIFIC) & (as_float <= MAX_COUNT)
        sci = sci & (as_float == as_float.floor())
        values.append(
            pl.when(sci)
            .then(as_float.cast(pl.Int64, strict=False))
            .otherwise(raw_col.cast(pl.Int64, strict=False))
            .alias(c)
        )
    parsed = cleaned.select([pl.col(_ROW), *values])
    bad_any = pl.repeat(False, frame.height, eager=True)
    for col in columns:
        raw = cleaned.get_column(col)
        val = parsed.get_column(col)
        as_number = raw.cast(pl.Float64, strict=False)
        huge = (raw.is_not_null() & val.is_null() & (as_number.abs() >= MAX_COUNT)).fill_null(False)
        huge = huge | (val.is_not_null() & (val > MAX_COUNT))
        not_int = raw.is_not_null() & val.is_null() & ~huge
        negative = val.is_not_null() & (val < 0)
        for mask, message, expected in (
            (not_int, "not a whole number", "integer >= 0"),
            (negative, "negative count", "integer >= 0"),
            (huge, "number too large for a count", f"integer <= {MAX_COUNT:,}"),
        ):
            if mask.any():
                idx = mask.arg_true()
                rows = parsed.get_column(_ROW).gather(idx).to_list()
                found = raw.gather(idx).to_list()
                ids = station.gather(idx).to_list()
                problems.extend(
                    RowProblem(file, int(r), str(s), col, message, expected, str(f))
                    for r, s, f in zip(rows, ids, found, strict=True)
                )
                bad_any = bad_any | mask
    parsed = parsed.with_columns(
        [pl.when(pl.col(c) > MAX_COUNT).then(None).otherwise(pl.col(c)).alias(c) for c in columns]
    )
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
        Rows with a bad cell (not a whole number, negative, too large for a count), with more
        or fewer fields than the header, or with an empty station id are kept out and listed
        in ``rejected``; so are stations whose id appears more than once with different
        figures (identical copies are kept once and reported). Blank rows are not stations
        (counted in ``notes``); rows with no figures at all are stations without data, listed
        in ``no_data`` and not counted in ``stations``.
        Rows where a mapping's computed ``others`` choice would be negative are kept out too.

    Raises
    ------
    DataFormatError, EmptyInputError, EncodingError, UnknownNameError, ColumnMappingError
        When the file as a whole cannot be read: not found, empty, undecodable, unknown header,
        a column name twice, two columns that both mean Against all, no choice columns,
        unknown profile, a mapping that does not fit the file.

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
    ragged: list[RowProblem] = []
    frame, notes, used = _read_frame(
        path,
        encoding=opts.encoding,
        sheet=opts.sheet,
        skip_rows=opts.skip_rows,
        header=opts.header,
        problems=ragged,
        mapped=opts.mapping is not None,
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
    all_names = [*choice_names, *([m.others] if m.others is not None else [])]
    all_ids = _unique_ids(tuple(all_names))
    choices = tuple(
        Choice.from_name(src, order=i, kind="candidate")
        if cid == src
        else Choice(id=cid, name=src, order=i)
        for i, (src, cid) in enumerate(zip(all_names, all_ids, strict=True))
    )
    against = [c for c in choices if c.against_all]
    if len(against) > 1:
        raise DataFormatError(
            "two columns both mean Against all",
            file=file,
            row=1,
            field=against[1].name,
            expected="one Against-all column",
            found=f"{against[0].name!r} and {against[1].name!r}",
        )
    parsed, problems = _parse_counts(frame, count_cols, file=file, station=station)
    problems.extend(ragged)

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
    choice_exprs = [pl.col(src).alias(cid) for src, cid in zip(choice_cols, all_ids, strict=False)]
    body = parsed.select([pl.col(_ROW), pl.col("__bad"), *line_exprs, *choice_exprs])
    table = pl.concat([pl.DataFrame(out_cols), body], how="horizontal")
    if m.others is not None:
        table = _computed_others(table, all_ids[-1], all_ids[:-1], file, problems)

    # a row with no figures at all is a station without data, not a station
    figure_cols = [*m.lines, *(c.id for c in choices)]
    no_figures = table.select(
        pl.all_horizontal([pl.col(k).is_null() for k in figure_cols]) & ~pl.col("__bad")
    ).to_series()
    no_data = tuple(
        RowProblem(file, int(r), str(sid), None, "no figures at all: a station without data")
        for r, sid in table.filter(no_figures).select(_ROW, "station").iter_rows()
    )
    table = table.filter(~no_figures)
    if no_data:
        notes.append(
            f"{len(no_data)} station{'' if len(no_data) == 1 else 's'} without data (no "
            "figures at all) counted apart, not as stations"
        )
    no_id = table.get_column("station") == ""
    if no_id.any():
        problems.extend(
            RowProblem(
                file,
                int(r),
                None,
                str(m.station[0]) if m.station else "station",
                "empty station id",
                "an id",
                "",
            )
            for r in table.filter(no_id).get_column(_ROW).to_list()
        )
        table = table.with_columns((pl.col("__bad") | no_id).alias("__bad"))
    problems.extend(_duplicates(table.filter(~pl.col("__bad")), file))
    dup_bad = {(p.row) for p in problems if p.field == "station"}
    keep = ~table.get_column("__bad")
    if dup_bad:
        keep = keep & ~table.get_column(_ROW).is_in(list(dup_bad))
    kept = table.filter(keep).drop("__bad", _ROW)

    if m.ignored:
        notes.append(f"columns not read: {', '.join(str(c) for c in m.ignored)}")
    if not {"issued", "issued_early", "issued_in_station", "issued_outside"} & set(m.lines):
        notes.append("no ballots-issued line: turnout counts the ballots found (valid + invalid)")
    return ProtocolTable(
        frame=kept,
        profile=prof,
        choices=choices,
        levels=tuple(m.levels),
        source=file,
        rejected=tuple(sorted(problems, key=lambda p: (p.row or 0, p.field or ""))),
        notes=tuple(notes),
        encoding=used,
        no_data=no_data,
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
