"""The sampling frame of a quick count or exit poll: every polling station, with its strata.

A :class:`SamplingFrame` is a Polars DataFrame with one row per polling station:

* ``station`` (text, unique): the id used by observers' reports;
* ``registered`` (integer >= 0): voters on the list, the measure of size for PPS sampling and
  the denominator of turnout;
* any number of text columns that can serve as strata (``region``, ``urban``, ``tik``...);
* optionally past results: integer columns named ``past:<choice>`` (votes for a choice at a
  previous election) and ``past:valid`` / ``past:cast``, used by Neyman allocation and by the
  planner's design effect.

A frame comes from a results file (:func:`frame_from_table`, :func:`open_frame`) or from a frame
CSV (:func:`read_frame`) whose errors name the file, row and field.

Examples
--------
>>> import polars as pl
>>> fr = SamplingFrame.from_frame(pl.DataFrame({
...     "station": ["1", "2", "3"], "registered": [900, 1200, 450],
...     "region": ["North", "North", "South"]}))
>>> fr.stations, fr.strata_columns()
(3, ('region',))
>>> fr.stratum_labels(["region"]).tolist()
['North', 'North', 'South']
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import DataFormatError, EmptyInputError, UnknownNameError
from ..domain.table import ProtocolTable, RowProblem

if TYPE_CHECKING:
    from ..io.columnmap import ColumnMapping

__all__ = [
    "PAST_PREFIX",
    "SamplingFrame",
    "frame_from_table",
    "open_frame",
    "read_frame",
]

#: Prefix of the columns that hold past results in a frame.
PAST_PREFIX = "past:"

_STRATUM_SEP = " | "


def _require_columns(columns: Sequence[str], source: str | None, row: int) -> None:
    """The frame's required columns, or one error naming the first one missing."""
    for col in ("station", "registered"):
        if col not in columns:
            raise DataFormatError(
                "sampling frame lacks a required column",
                file=source,
                row=row,
                field=col,
                expected="columns station, registered",
                found=", ".join(list(columns)[:8]),
            )


@dataclasses.dataclass(frozen=True)
class SamplingFrame:
    """Every polling station that can be sampled, with strata columns and sizes.

    Parameters
    ----------
    frame : polars.DataFrame
        One row per station: ``station`` (Utf8, unique), ``registered`` (Int64), strata
        columns (Utf8) and optional ``past:*`` integer columns.
    source : str, optional
        File the frame was read from.
    notes : tuple of str
        What was done while building it (rows dropped, columns ignored...).
    rejected : tuple of RowProblem
        Rows of the results file it was built from that were kept out (so the stations the
        frame lost), each with file, row, station and field; ``no_data`` the stations of that
        file without any figures.
    """

    frame: pl.DataFrame
    source: str | None = None
    notes: tuple[str, ...] = ()
    rejected: tuple[RowProblem, ...] = ()
    no_data: tuple[RowProblem, ...] = ()

    @classmethod
    def from_frame(
        cls, frame: pl.DataFrame, *, source: str | None = None, notes: Sequence[str] = ()
    ) -> SamplingFrame:
        """Check and wrap a Polars frame (see the module docstring for the columns).

        Raises
        ------
        DataFormatError
            A required column is missing, a station id is empty or repeated, or ``registered``
            is not a whole number >= 0.
        EmptyInputError
            The frame has no rows.
        """
        _require_columns(frame.columns, source, 0)
        if frame.height == 0:
            raise EmptyInputError("sampling frame has no stations", file=source)
        station = frame.get_column("station").cast(pl.Utf8).str.strip_chars()
        empty = station.is_null() | (station == "")
        if empty.any():
            row = int(empty.arg_true()[0]) + 1
            raise DataFormatError(
                "empty station id", file=source, row=row, field="station", expected="an id"
            )
        dup = station.is_duplicated()
        if dup.any():
            rows = (dup.arg_true() + 1).to_list()
            raise DataFormatError(
                "station id appears more than once",
                file=source,
                row=int(rows[1]),
                field="station",
                expected="a unique id",
                found=f"{station[rows[1] - 1]} (also at row {rows[0]})",
            )
        reg = frame.get_column("registered")
        if not reg.dtype.is_integer():
            raise DataFormatError(
                "registered voters must be whole numbers",
                file=source,
                field="registered",
                expected="integer >= 0",
                found=str(reg.dtype),
            )
        bad = reg.is_null() | (reg < 0)
        if bad.any():
            i = int(bad.arg_true()[0])
            raise DataFormatError(
                "registered voters missing or negative",
                file=source,
                row=i + 1,
                field="registered",
                expected="integer >= 0",
                found=str(reg[i]),
            )
        out = frame.with_columns(station.alias("station"), reg.cast(pl.Int64).alias("registered"))
        return cls(frame=out, source=source, notes=tuple(notes))

    # ------------------------------------------------------------------ accessors
    @property
    def stations(self) -> int:
        """Number of stations in the frame."""
        return self.frame.height

    def station_ids(self) -> npt.NDArray[np.object_]:
        """Station ids, in frame order."""
        return self.frame.get_column("station").to_numpy()

    def registered(self) -> npt.NDArray[np.int64]:
        """Voters on the list per station."""
        return self.frame.get_column("registered").to_numpy().astype(np.int64, copy=False)

    def strata_columns(self) -> tuple[str, ...]:
        """Text columns that can serve as strata (every Utf8 column but ``station``)."""
        return tuple(
            c
            for c, t in zip(self.frame.columns, self.frame.dtypes, strict=True)
            if c != "station" and t == pl.Utf8 and not c.startswith(PAST_PREFIX)
        )

    def past_columns(self) -> tuple[str, ...]:
        """Columns of past results (``past:*``)."""
        return tuple(c for c in self.frame.columns if c.startswith(PAST_PREFIX))

    def column(self, name: str) -> pl.Series:
        """A column by name, with a clear error when it is absent."""
        if name not in self.frame.columns:
            raise UnknownNameError(
                "column not in the sampling frame",
                file=self.source,
                field=name,
                expected=" | ".join(self.frame.columns),
                found=name,
            )
        return self.frame.get_column(name)

    def stratum_labels(self, columns: Sequence[str]) -> npt.NDArray[np.object_]:
        """One stratum label per station: the values of ``columns`` joined by ``" | "``.

        With no columns, every station is in the one stratum ``"all"``.
        """
        if not columns:
            return np.full(self.stations, "all", dtype=object)
        parts = [self.column(c).cast(pl.Utf8).fill_null("") for c in columns]
        if len(parts) == 1:
            return parts[0].to_numpy().astype(object)
        joined = pl.DataFrame(parts).select(
            pl.concat_str([pl.col(c) for c in columns], separator=_STRATUM_SEP)
        )
        return joined.to_series().to_numpy().astype(object)

    def fingerprint(self) -> str:
        """SHA-256 of the station ids and registered voters, independent of row order.

        A draw record stores it so an audit can check that the same frame was used. Computed
        once per frame (the frame is frozen; repeated draws, as in a coverage study, reuse it).
        """
        cached = self.__dict__.get("_fingerprint")
        if isinstance(cached, str):
            return cached
        ordered = self.frame.select("station", "registered").sort("station")
        h = hashlib.sha256()
        for sid, reg in ordered.iter_rows():
            h.update(f"{sid}\t{reg}\n".encode())
        digest = h.hexdigest()
        object.__setattr__(self, "_fingerprint", digest)
        return digest


def frame_from_table(
    table: ProtocolTable,
    *,
    strata: Sequence[str] | None = None,
    past: bool = True,
    source: str | None = None,
) -> SamplingFrame:
    """Build a sampling frame from a results file (a :class:`ProtocolTable`).

    Parameters
    ----------
    table : ProtocolTable
        Precinct results; its ``voters_on_list`` line becomes ``registered``.
    strata : sequence of str, optional
        Columns kept as strata candidates; by default every hierarchy level of the table.
    past : bool, default True
        Keep the votes of every choice as ``past:<choice id>`` columns and ``past:valid``,
        ``past:cast`` (so the frame can carry a previous election's results).
    source : str, optional
        Name to cite in errors (default: the table's source).

    Returns
    -------
    SamplingFrame

    Examples
    --------
    >>> import polars as pl
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": ["a", "b"], "region": ["N", "S"], "voters_on_list": [100, 200],
    ...     "invalid": [1, 2], "valid": [50, 90], "X": [30, 40], "Y": [20, 50]}),
    ...     profile="plain", choices=["X", "Y"], levels=["region"])
    >>> fr = frame_from_table(t)
    >>> fr.frame.columns
    ['station', 'registered', 'region', 'past:X', 'past:Y', 'past:valid', 'past:cast']
    """
    src = source or table.source
    cols = list(table.levels if strata is None else strata)
    missing = [c for c in cols if c not in table.frame.columns]
    if missing:
        raise UnknownNameError(
            "strata column not in the results table",
            file=src,
            field=missing[0],
            expected=" | ".join(table.levels),
            found=missing[0],
        )
    exprs: list[pl.Expr] = [
        pl.col("station").cast(pl.Utf8),
        pl.col("voters_on_list").fill_null(0).cast(pl.Int64).alias("registered"),
        *[pl.col(c).cast(pl.Utf8).fill_null("") for c in cols],
    ]
    if "voters_on_list" not in table.frame.columns:
        raise DataFormatError(
            "results table has no voters_on_list line", file=src, field="voters_on_list"
        )
    if past:
        exprs += [
            pl.col(c.id).fill_null(0).cast(pl.Int64).alias(PAST_PREFIX + c.id)
            for c in table.choices
        ]
        if "valid" in table.frame.columns:
            exprs.append(pl.col("valid").fill_null(0).cast(pl.Int64).alias(PAST_PREFIX + "valid"))
            if "invalid" in table.frame.columns:
                exprs.append(
                    (pl.col("valid").fill_null(0) + pl.col("invalid").fill_null(0))
                    .cast(pl.Int64)
                    .alias(PAST_PREFIX + "cast")
                )
    return SamplingFrame.from_frame(table.frame.select(exprs), source=src)


def read_frame(path: str | Path) -> SamplingFrame:
    """Read a frame CSV: ``station``, ``registered``, strata columns, optional ``past:*``.

    The separator (``,`` or ``;``) and encoding are detected as for results files. Every cell is
    read as text; ``registered`` and ``past:*`` cells must be whole numbers >= 0.

    Raises
    ------
    DataFormatError
        Naming the file, the spreadsheet row (header = row 1) and the field of the first bad
        cell: a missing column, an empty or repeated station id, a count that is not a whole
        number >= 0.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "frame.csv"
    >>> _ = p.write_text("station,region,registered\\n1,N,100\\n2,S,x\\n", encoding="utf-8")
    >>> read_frame(p)
    Traceback (most recent call last):
    ...
    saylau._exceptions.DataFormatError: ...frame.csv, row 3, field registered: not a whole number >= 0 (expected integer >= 0, found x)
    """  # noqa: E501
    from ..io import read_frame as read_text_frame

    file = str(path)
    raw, notes = read_text_frame(path)
    row_col = "__row"
    _require_columns([c for c in raw.columns if c != row_col], file, 1)
    rows = raw.get_column(row_col)
    station = raw.get_column("station").cast(pl.Utf8).str.strip_chars()
    empty = station.is_null() | (station == "")
    if empty.any():
        i = int(empty.arg_true()[0])
        raise DataFormatError(
            "empty station id", file=file, row=int(rows[i]), field="station", expected="an id"
        )
    dup = station.is_duplicated()
    if dup.any():
        idx = dup.arg_true()
        first_id = station[int(idx[0])]
        same = [int(i) for i in idx.to_list() if station[int(i)] == first_id]
        raise DataFormatError(
            "station id appears more than once",
            file=file,
            row=int(rows[same[1]]),
            field="station",
            expected="a unique id",
            found=f"{first_id} (also at row {int(rows[same[0]])})",
        )
    count_cols = ["registered", *[c for c in raw.columns if c.startswith(PAST_PREFIX)]]
    exprs: list[pl.Expr] = []
    for col in count_cols:
        text = raw.get_column(col).cast(pl.Utf8).str.strip_chars()
        text = text.str.replace(r"^(\d+)\.0+$", "$1")
        val = text.cast(pl.Int64, strict=False)
        bad = text.is_null() | (text == "") | val.is_null() | (val < 0)
        if bad.any():
            i = int(bad.arg_true()[0])
            raise DataFormatError(
                "not a whole number >= 0",
                file=file,
                row=int(rows[i]),
                field=col,
                expected="integer >= 0",
                found=text[i] if text[i] is not None else "",
            )
        exprs.append(pl.lit(val).alias(col))
    text_cols = [c for c in raw.columns if c not in count_cols and c not in (row_col, "station")]
    frame = raw.select(
        pl.lit(station).alias("station"),
        *exprs,
        *[pl.col(c).cast(pl.Utf8).fill_null("") for c in text_cols],
    )
    return SamplingFrame.from_frame(frame, source=file, notes=notes)


def open_frame(
    path: str | Path,
    *,
    strata: Sequence[str] | None = None,
    columns: ColumnMapping | str | Path | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_rows: int | None = None,
) -> SamplingFrame:
    """Open a frame CSV, or any results file :func:`saylau.io.read_protocols` can read.

    A file whose header has both ``station`` and ``registered`` is read by :func:`read_frame`;
    any other file is read as precinct results and turned into a frame by
    :func:`frame_from_table` (``registered`` from the voters-on-list line, strata candidates from
    the hierarchy levels, past results from the votes). ``columns``, ``encoding``, ``sheet`` and
    ``skip_rows`` are :func:`saylau.io.read_protocols`'s; a file read through a column mapping is
    always read as precinct results.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results.csv"
    >>> _ = p.write_text("station,region,voters_on_list,issued,invalid,valid,A,B\\n"
    ...                  "1,N,100,60,1,59,40,19\\n2,S,300,200,0,200,50,150\\n", encoding="utf-8")
    >>> fr = open_frame(p)
    >>> fr.registered().tolist(), fr.strata_columns()
    ([100, 300], ('region',))
    """
    from ..io import read_frame as read_text_frame
    from ..io import read_protocols

    reading: dict[str, Any] = {"encoding": encoding, "sheet": sheet, "skip_rows": skip_rows}
    if columns is None:
        raw, _ = read_text_frame(path, problems=[], **{**reading, "skip_rows": skip_rows or 0})
        if "station" in raw.columns and "registered" in raw.columns:
            return read_frame(path)
    table = read_protocols(path, columns=columns, **reading)
    fr = frame_from_table(table, strata=strata)
    notes = (*fr.notes, *table.notes)
    if table.rejected:
        notes = (*notes, f"{len(table.rejected)} rows of the results file were kept out")
    return dataclasses.replace(fr, notes=notes, rejected=table.rejected, no_data=table.no_data)
