"""Column mappings: how the columns of any precinct file map to saylau's protocol lines.

A :class:`ColumnMapping` says which columns make the station id, which are hierarchy levels
(top-down), which protocol line each column holds (several columns may add up to one line), and
which columns are votes for a choice. saylau recognises the Russian CEC, Polish PKW and its own
normalised files by their header (:func:`saylau.io.mappings.detect_mapping`); any other file is
read through a small TOML file that the user writes, or starts from the one
:func:`mapping_for_file` (``saylau columns FILE``) writes for a file saylau recognised::

    station = ["district_code", "station_no"]   # one column, or several joined into the id
    profile = "plain"                            # optional; detected from the lines otherwise
    header = true                                # false: columns by position, "1", "2"... or 1, 2
    skip_rows = 0                                # lines above the header (titles, notes)
    missing = ["NA"]                             # cells meaning "no figure", besides "" and "-"
    [levels]                                     # hierarchy, top-down
    region = "District"
    [lines]                                      # protocol line key -> column, or columns summed
    voters_on_list = "Registered voters"
    issued = ["Ballots issued early", "Ballots issued on the day"]
    valid = "Valid votes"
    invalid = "Invalid votes"
    [choices]
    columns = ["Party A", "Party B", "Against all"]  # omitted: every column not used or ignored
    others = "Other parties"                     # optional: a choice computed as valid - sum
    ignore = ["Total votes", "Station name"]

A column is named by its header text or by its position (an integer, 1 = the first column).
``[choices] columns`` may also be a table ``{"Party A" = 7, ...}`` giving each choice its name,
which a file without a header needs. A mapping that names a column the file does not have, uses
one column twice, or leaves a line required by its profile unmapped is refused with a
:class:`~saylau._exceptions.ColumnMappingError` naming the key and the column.

Examples
--------
>>> m = ColumnMapping.from_toml('''
... station = "Station"
... [lines]
... voters_on_list = "Registered"
... valid = "Ballots"
... [choices]
... columns = ["Leader"]
... others = "Others"
... ''', file="map.toml")
>>> r = m.resolve(["Station", "Registered", "Ballots", "Leader"])
>>> r.profile, dict(r.lines), r.choices, r.others
('plain', {'voters_on_list': ('Registered',), 'valid': ('Ballots',)}, ('Leader',), 'Others')
>>> m.resolve(["Station", "Registered", "Valid", "Leader"])
Traceback (most recent call last):
...
saylau._exceptions.ColumnMappingError: map.toml, field lines.valid: column not in the file (expected one of: Station, Registered, Valid, Leader, found 'Ballots')
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._exceptions import ColumnMappingError
from ..domain.profiles import CHOICES, LINE_LABELS, PROFILES

__all__ = [
    "MAPPINGS",
    "Column",
    "ColumnMapping",
    "ReadOptions",
    "mapping_for_file",
    "read_options",
]

#: Mapping files shipped with saylau (``saylau/data/mappings/NAME.toml``), usable by name.
MAPPINGS = {
    "albania-2013": "Albania, parliamentary 2013, EFToolkit's Albania2013.csv as its columns stand",
    "moscow-2011-observers": "Moscow, State Duma 2011, observers' copies and official figures "
    "(result_412_GN.csv / result_412_OF.csv, no header)",
}

#: A column: its header text, or its 1-based position in the file.
Column = str | int

#: Lines every mapping must give (the base of turnout and of every share).
REQUIRED_LINES = ("voters_on_list",)

_TOP_KEYS = (
    "name",
    "station",
    "profile",
    "header",
    "skip_rows",
    "encoding",
    "sheet",
    "missing",
    "levels",
    "lines",
    "choices",
)
_CHOICE_KEYS = ("columns", "others", "ignore")


@dataclasses.dataclass(frozen=True)
class ColumnMapping:
    """How the columns of one file (or one family of files) map to saylau's table.

    Parameters
    ----------
    name : str
        What the mapping is (``ru-cec``, ``pl-pkw``, ``normalised`` or a user's name).
    levels : mapping of level name -> column
        Hierarchy columns, top-down.
    lines : mapping of line key -> columns
        Protocol lines (keys of :data:`saylau.domain.profiles.LINE_LABELS`); several columns
        are summed.
    choices : tuple of columns, or None
        Columns of votes per choice in ballot order; ``None``: every column that no other key
        uses or ignores.
    station : tuple of columns
        Columns whose values, joined by " / ", make the station id; empty: the row number.
    ignored : tuple of columns
        Columns deliberately not read (listed in the table's notes).
    profile : str, optional
        Protocol profile name; ``None``: ``plain``, unless a mapped line that ``plain`` lacks
        points to the smallest shipped profile holding every mapped line.
    others : str, optional
        Name of a choice computed as ``valid`` minus the sum of the choice columns.
    choice_names : tuple of str
        Names of the choices when they differ from the column names (same length as
        ``choices``); empty: the column names.
    header : bool
        Whether the file's first (unskipped) line is a header; without one the columns are named
        ``"1"``, ``"2"``...
    skip_rows : int
        Lines to skip above the header.
    encoding, sheet : str, optional
        Text encoding of a CSV file; sheet of an Excel workbook.
    missing : tuple of str
        Cell values meaning "no figure" besides an empty cell and a dash (e.g. ``"NA"``).
    source : str, optional
        The mapping file it was read from (used in error messages).
    notes : tuple of str
        What the recognition of a header found (layout, columns it could not place); the
        reader copies them into the table's notes. Not written to TOML.
    """

    name: str
    levels: Mapping[str, Column]
    lines: Mapping[str, tuple[Column, ...]]
    choices: tuple[Column, ...] | None
    station: tuple[Column, ...]
    ignored: tuple[Column, ...] = ()
    profile: str | None = None
    others: str | None = None
    choice_names: tuple[str, ...] = ()
    header: bool = True
    skip_rows: int = 0
    encoding: str | None = None
    sheet: str | None = None
    missing: tuple[str, ...] = ()
    source: str | None = dataclasses.field(default=None, compare=False)
    notes: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    # ------------------------------------------------------------------ TOML
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, file: str | None = None) -> ColumnMapping:
        """Build a mapping from the parsed TOML (see the module's documentation)."""
        for key in data:
            if key not in _TOP_KEYS:
                raise ColumnMappingError(
                    "unknown key in the column mapping",
                    file=file,
                    key=key,
                    expected=" | ".join(_TOP_KEYS),
                )
        header = _typed(data, "header", bool, True, file)
        levels_raw = _typed(data, "levels", dict, {}, file)
        levels = {str(k): _column(v, f"levels.{k}", file) for k, v in levels_raw.items()}
        lines: dict[str, tuple[Column, ...]] = {}
        for key, value in _typed(data, "lines", dict, {}, file).items():
            if key not in LINE_LABELS or key == CHOICES:
                raise ColumnMappingError(
                    "unknown protocol line key",
                    file=file,
                    key=f"lines.{key}",
                    expected=" | ".join(k for k in LINE_LABELS if k != CHOICES),
                )
            lines[key] = _columns(value, f"lines.{key}", file)
        raw_choices = data.get("choices", {})
        if isinstance(raw_choices, list):
            raw_choices = {"columns": raw_choices}
        if not isinstance(raw_choices, dict):
            raise ColumnMappingError(
                "must be a table or a list of columns", file=file, key="choices"
            )
        for key in raw_choices:
            if key not in _CHOICE_KEYS:
                raise ColumnMappingError(
                    "unknown key in [choices]",
                    file=file,
                    key=f"choices.{key}",
                    expected=" | ".join(_CHOICE_KEYS),
                )
        choices: tuple[Column, ...] | None = None
        names: tuple[str, ...] = ()
        cols = raw_choices.get("columns")
        if isinstance(cols, dict):
            names = tuple(str(k) for k in cols)
            choices = tuple(_column(v, f"choices.columns.{k}", file) for k, v in cols.items())
        elif cols is not None:
            choices = _columns(cols, "choices.columns", file)
        others = _typed(raw_choices, "others", str, None, file, prefix="choices.")
        skip = _typed(data, "skip_rows", int, 0, file)
        if skip < 0:
            raise ColumnMappingError(
                "must be 0 or more", file=file, key="skip_rows", expected=">= 0", column=skip
            )
        station = _columns(data["station"], "station", file) if "station" in data else ()
        return cls(
            name=_typed(data, "name", str, "custom", file),
            levels=levels,
            lines=lines,
            choices=choices,
            station=station,
            ignored=_columns(raw_choices.get("ignore", []), "choices.ignore", file),
            profile=_typed(data, "profile", str, None, file),
            others=others,
            choice_names=names,
            header=header,
            skip_rows=skip,
            encoding=_typed(data, "encoding", str, None, file),
            sheet=_typed(data, "sheet", str, None, file),
            missing=tuple(str(v) for v in _typed(data, "missing", list, [], file)),
            source=file,
        )

    @classmethod
    def from_toml(cls, text: str, *, file: str | None = None) -> ColumnMapping:
        """Parse the TOML text of a mapping."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ColumnMappingError(f"not valid TOML ({exc})", file=file) from None
        return cls.from_dict(data, file=file)

    @classmethod
    def read(cls, path: str | Path) -> ColumnMapping:
        """Read a mapping file (UTF-8 TOML), or a shipped mapping by name (see :data:`MAPPINGS`).

        Examples
        --------
        >>> m = ColumnMapping.read("moscow-2011-observers")
        >>> m.header, m.profile, m.choice_names[-2]
        (False, 'ru-federal-2011', 'ЕДИНАЯ РОССИЯ')
        """
        p = Path(path)
        if not p.exists() and str(path) in MAPPINGS:
            from importlib import resources

            p = Path(str(resources.files("saylau") / "data" / "mappings" / f"{path}.toml"))
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ColumnMappingError("mapping file not found", file=str(p)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ColumnMappingError(f"cannot read the mapping file ({exc})", file=str(p)) from None
        return cls.from_toml(text, file=str(p))

    def to_dict(self) -> dict[str, Any]:
        """The mapping as TOML-ready data, defaults left out, one column written as a scalar."""
        out: dict[str, Any] = {}
        if self.name not in ("custom",):
            out["name"] = self.name
        if self.station:
            out["station"] = _scalar(self.station)
        if self.profile is not None:
            out["profile"] = self.profile
        if not self.header:
            out["header"] = False
        if self.skip_rows:
            out["skip_rows"] = self.skip_rows
        if self.encoding is not None:
            out["encoding"] = self.encoding
        if self.sheet is not None:
            out["sheet"] = self.sheet
        if self.missing:
            out["missing"] = list(self.missing)
        if self.levels:
            out["levels"] = dict(self.levels)
        out["lines"] = {k: _scalar(v) for k, v in self.lines.items()}
        choices: dict[str, Any] = {}
        if self.choices is not None:
            if self.choice_names:
                choices["columns"] = dict(zip(self.choice_names, self.choices, strict=True))
            else:
                choices["columns"] = list(self.choices)
        if self.others is not None:
            choices["others"] = self.others
        if self.ignored:
            choices["ignore"] = list(self.ignored)
        if choices:
            out["choices"] = choices
        return out

    def to_toml(self, *, comment: str | None = None) -> str:
        """The mapping as TOML text (``comment`` lines go on top, each prefixed with ``#``).

        Examples
        --------
        >>> m = ColumnMapping("x", {}, {"voters_on_list": ("Reg",)}, ("A", "B"), ("Id",))
        >>> print(m.to_toml())
        name = "x"
        station = "Id"
        <BLANKLINE>
        [lines]
        voters_on_list = "Reg"
        <BLANKLINE>
        [choices]
        columns = [
            "A",
            "B",
        ]
        <BLANKLINE>
        >>> ColumnMapping.from_toml(m.to_toml()) == m
        True
        """
        import tomli_w

        head = "".join(f"# {line}\n" for line in (comment or "").splitlines())
        return head + tomli_w.dumps(self.to_dict())

    # ------------------------------------------------------------------ fitting a file
    def resolve(self, columns: Sequence[str], *, file: str | None = None) -> ColumnMapping:
        """This mapping fitted to a file's columns: every column a name, choices and profile set.

        Parameters
        ----------
        columns : sequence of str
            The file's column names, in order (``"1"``, ``"2"``... for a file without header).
        file : str, optional
            The data file (named in errors when the mapping has no file of its own).

        Raises
        ------
        ColumnMappingError
            A key names a column the file does not have, one column is used by two keys, a line
            the profile requires is unmapped, the profile is unknown, or no choice is left.
        """
        where = self.source or file
        # a mapping recognised from the header: its problems are the header's (row 1)
        row = None if self.source is not None else self.skip_rows + 1
        names = list(columns)
        used: dict[str, str] = {}

        def find(col: Column, key: str) -> str:
            if isinstance(col, int):
                if not 1 <= col <= len(names):
                    raise ColumnMappingError(
                        "column position outside the file",
                        file=where,
                        key=key,
                        column=col,
                        expected=f"1 to {len(names)}",
                    )
                return names[col - 1]
            if col not in names:
                shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
                raise ColumnMappingError(
                    "column not in the file",
                    file=where,
                    row=row,
                    key=key,
                    column=col,
                    expected=f"one of: {shown}",
                )
            return col

        def claim(col: Column, key: str) -> str:
            name = find(col, key)
            if name in used:
                raise ColumnMappingError(
                    f"column mapped twice (also by {used[name]})",
                    file=where,
                    row=row,
                    key=key,
                    column=name,
                    expected="each column under one key",
                )
            used[name] = key
            return name

        levels = {lvl: claim(c, f"levels.{lvl}") for lvl, c in self.levels.items()}
        station = tuple(find(c, "station") for c in self.station)
        for name in station:
            if name not in levels.values():
                used[name] = "station"
        lines = {
            key: tuple(claim(c, f"lines.{key}") for c in cols) for key, cols in self.lines.items()
        }
        ignored = tuple(claim(c, "choices.ignore") for c in self.ignored)
        if self.choices is None:
            choices = tuple(n for n in names if n not in used)
        else:
            choices = tuple(claim(c, "choices.columns") for c in self.choices)
        if self.choice_names and len(self.choice_names) != len(choices):
            raise ColumnMappingError(
                "choice names and choice columns differ in number",
                file=where,
                row=row,
                key="choices.columns",
                expected=f"{len(choices)} names",
                found=len(self.choice_names),
            )
        ids = self.choice_names or choices
        # the table's own column names: a level or a choice named like one would clash
        reserved = {"station", *LINE_LABELS}
        for lvl, src in levels.items():
            if lvl in reserved:
                raise ColumnMappingError(
                    "a level cannot be named like a protocol line or the station",
                    file=where,
                    row=row,
                    key=f"levels.{lvl}",
                    column=src,
                    expected="another level name (region, district...)",
                )
        for name in (*ids, *([self.others] if self.others is not None else [])):
            if name.strip() in reserved or name.strip() in levels:
                raise ColumnMappingError(
                    "a choice cannot be named like a protocol line, a level or the station",
                    file=where,
                    row=row,
                    key="choices.columns",
                    column=name,
                    expected="the name of a candidate or party",
                )
        if self.others is not None and self.others in ids:
            raise ColumnMappingError(
                "the computed choice has the name of a choice column",
                file=where,
                row=row,
                key="choices.others",
                column=self.others,
                expected="a new name",
            )
        if not choices and self.others is None:
            raise ColumnMappingError(
                "no choice columns (votes per candidate or party)",
                file=where,
                row=row,
                key="choices.columns",
                expected="at least one column of votes",
                found=", ".join(names[:8]),
            )
        profile = self.profile or _profile_for(lines)
        if profile not in PROFILES:
            raise ColumnMappingError(
                "unknown protocol profile",
                file=where,
                row=row,
                key="profile",
                column=profile,
                expected=" | ".join(PROFILES),
            )
        required = list(REQUIRED_LINES)
        if self.others is not None:
            required.append("valid")
        if self.profile is not None and self.source is not None:
            # a mapping file that names its profile declares the layout: every line is due
            required += [
                ln.key for ln in PROFILES[profile].lines if not getattr(ln, "optional", False)
            ]
        for key in dict.fromkeys(required):
            if key not in lines:
                raise ColumnMappingError(
                    f"protocol line required by profile {profile} is not mapped",
                    file=where,
                    row=row,
                    key=f"lines.{key}",
                    expected=f"a column for {LINE_LABELS[key]}",
                )
        return dataclasses.replace(
            self,
            levels=levels,
            lines=lines,
            choices=choices,
            station=station,
            ignored=ignored,
            profile=profile,
        )


def _profile_for(lines: Mapping[str, object]) -> str:
    """``plain`` when it holds every mapped line, else the smallest shipped profile that does.

    A country's layout is never guessed from a few generic lines: only lines that ``plain``
    lacks (``issued_early``, ``in_boxes``...) point to one; with no profile holding them all,
    ``plain``.
    """
    keys = set(lines)
    fits = [p for p in PROFILES.values() if keys <= set(p.line_keys)]
    if not fits or any(p.name == "plain" for p in fits):
        return "plain"
    return min(fits, key=lambda p: (len(p.lines), p.name)).name


def _typed(
    data: Mapping[str, Any],
    key: str,
    kind: type,
    default: Any,
    file: str | None,
    *,
    prefix: str = "",
) -> Any:
    if key not in data:
        return default
    value = data[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ColumnMappingError(
            f"must be a {kind.__name__}",
            file=file,
            key=prefix + key,
            column=value,
            expected=kind.__name__,
        )
    return value


def _column(value: Any, key: str, file: str | None) -> Column:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ColumnMappingError(
            "a column is a header name or a position (1 = first column)",
            file=file,
            key=key,
            column=value,
            expected="a string or an integer",
        )
    if isinstance(value, int) and value < 1:
        raise ColumnMappingError(
            "column positions start at 1", file=file, key=key, column=value, expected=">= 1"
        )
    return value


def _columns(value: Any, key: str, file: str | None) -> tuple[Column, ...]:
    if isinstance(value, list):
        if not value and key in ("station", "choices.columns"):
            raise ColumnMappingError("empty list of columns", file=file, key=key)
        return tuple(_column(v, key, file) for v in value)
    return (_column(value, key, file),)


def _scalar(cols: tuple[Column, ...]) -> Column | list[Column]:
    return cols[0] if len(cols) == 1 else list(cols)


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """Everything that says how to read one precinct file, after merging options and mapping."""

    mapping: ColumnMapping | None = None
    encoding: str | None = None
    sheet: str | None = None
    skip_rows: int = 0
    header: bool = True
    missing: tuple[str, ...] = ()


def read_options(
    columns: ColumnMapping | str | Path | None = None,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_rows: int | None = None,
) -> ReadOptions:
    """Merge a column mapping (object or TOML file) with explicit reading options.

    An option given here wins over the same setting in the mapping file; a setting in neither
    takes its default (encoding detected, first sheet, no skipped rows, a header line).

    Examples
    --------
    >>> m = ColumnMapping("x", {}, {"voters_on_list": ("R",)}, None, (), skip_rows=2,
    ...                   encoding="cp1251")
    >>> o = read_options(m, encoding="utf-8")
    >>> o.encoding, o.skip_rows, o.header
    ('utf-8', 2, True)
    """
    mapping = (
        ColumnMapping.read(columns) if isinstance(columns, str | Path) else columns
    )  # a path: read the TOML file
    if skip_rows is not None and skip_rows < 0:
        raise ColumnMappingError(
            "must be 0 or more", key="--skip-rows", column=skip_rows, expected=">= 0"
        )
    if mapping is None:
        return ReadOptions(None, encoding, sheet, skip_rows or 0)
    return ReadOptions(
        mapping,
        encoding if encoding is not None else mapping.encoding,
        sheet if sheet is not None else mapping.sheet,
        skip_rows if skip_rows is not None else mapping.skip_rows,
        mapping.header,
        mapping.missing,
    )


def mapping_for_file(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_rows: int | None = None,
) -> ColumnMapping:
    """The mapping saylau recognises for a file, written out in full (``saylau columns FILE``).

    Reading the file through the returned mapping gives the same table as reading it alone;
    a user edits it into the mapping of a file saylau does not recognise.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "n.csv"
    >>> _ = p.write_text("station,region,voters_on_list,issued,invalid,valid,A,B\\n"
    ...                  "1,N,100,60,2,58,50,8\\n", encoding="utf-8")
    >>> m = mapping_for_file(p)
    >>> m.name, m.station, m.profile, m.choices
    ('normalised', ('station',), 'plain', ('A', 'B'))
    """
    from .mappings import detect_mapping
    from .readers import ROW_COLUMN, read_frame

    file = str(path)
    frame, _notes = read_frame(
        path, encoding=encoding, sheet=sheet, skip_rows=skip_rows or 0, header=True
    )
    found = detect_mapping([c for c in frame.columns if c != ROW_COLUMN], file=file)
    return dataclasses.replace(
        found,
        choices=tuple(found.choices or ()),
        encoding=encoding,
        sheet=sheet,
        skip_rows=skip_rows or 0,
    )
