"""A table of precinct protocols: one row per polling station, lines and votes as columns.

:class:`ProtocolTable` is what every reader in :mod:`saylau.io` returns and what validation,
tabulation, forensics and the survey tools consume. Its ``frame`` is a Polars DataFrame with

* hierarchy columns named in ``levels`` (top-down, e.g. ``region``, ``tik``, ``uik``) and a
  unique ``station`` id;
* one ``Int64`` column per protocol line, keyed by meaning (see
  :data:`saylau.domain.profiles.LINE_LABELS`); a missing cell is null;
* one ``Int64`` column per choice, named by :attr:`Choice.id`, Against all included.

Examples
--------
>>> import polars as pl
>>> t = ProtocolTable.from_frame(
...     pl.DataFrame({"station": ["1", "2"], "voters_on_list": [100, 200], "issued": [60, 90],
...                   "invalid": [2, 3], "valid": [58, 87], "A": [40, 50], "B": [10, 30],
...                   "Против всех": [8, 7]}),
...     profile="plain", choices=["A", "B", "Против всех"])
>>> t.against_all.name, t.leader().name
('Против всех', 'A')
>>> t.issued().tolist(), t.cast().tolist()
([60, 90], [60, 90])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import SaylauInputError, UnknownNameError
from .choices import Choice, normalize_name
from .profiles import ProtocolProfile, get_profile

__all__ = ["ProtocolTable", "RowProblem"]

IntArray = npt.NDArray[np.int64]

#: The lines that add up to the ballots issued where a layout has no single ``issued`` line.
_ISSUED_PARTS = ("issued_early", "issued_in_station", "issued_outside")


@dataclasses.dataclass(frozen=True)
class RowProblem:
    """A row kept out of the table (or flagged in it), with the reason and where it is."""

    file: str | None
    row: int | None
    station: str | None
    field: str | None
    message: str
    expected: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            p
            for p in (
                self.file,
                None if self.row is None else f"row {self.row}",
                None if self.station is None else f"station {self.station}",
                None if self.field is None else f"field {self.field}",
            )
            if p
        )
        text = f"{where}: {self.message}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text


@dataclasses.dataclass(frozen=True)
class ProtocolTable:
    """Precinct protocols of one contest, with their profile and choices.

    Build one with :func:`saylau.io.read_protocols` or :meth:`from_frame`. ``rejected`` lists
    the rows kept out of ``frame`` (each with file, row, station, field and what was found);
    ``no_data`` the stations of the file that have no figures at all, which are not rows of
    ``frame`` either.
    """

    frame: pl.DataFrame
    profile: ProtocolProfile
    choices: tuple[Choice, ...]
    levels: tuple[str, ...] = ()
    source: str | None = None
    rejected: tuple[RowProblem, ...] = ()
    notes: tuple[str, ...] = ()
    #: Text encoding the file was decoded with (None for Parquet, Excel or a frame).
    encoding: str | None = None
    no_data: tuple[RowProblem, ...] = ()

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        *,
        profile: str | ProtocolProfile,
        choices: Sequence[str | Choice],
        levels: Sequence[str] = (),
        source: str | None = None,
    ) -> ProtocolTable:
        """Wrap a frame that already uses saylau's line keys and has a ``station`` column."""
        prof = get_profile(profile) if isinstance(profile, str) else profile
        chs = tuple(
            c if isinstance(c, Choice) else Choice.from_name(c, order=i)
            for i, c in enumerate(choices)
        )
        missing = [c.id for c in chs if c.id not in frame.columns]
        if missing:
            raise SaylauInputError(
                "choice columns missing", file=source, field=missing[0], expected="a column"
            )
        return cls(frame=frame, profile=prof, choices=chs, levels=tuple(levels), source=source)

    # ------------------------------------------------------------------ accessors
    def __len__(self) -> int:
        return self.frame.height

    @property
    def stations(self) -> int:
        """Number of stations (rows); stations without data are not among them."""
        return self.frame.height

    @property
    def stations_without_data(self) -> int:
        """Rows of the file with no figures at all (listed in ``no_data``), kept apart."""
        return len(self.no_data)

    @property
    def against_all(self) -> Choice | None:
        """The Against-all choice, if the ballot has one."""
        for c in self.choices:
            if c.against_all:
                return c
        return None

    @property
    def contenders(self) -> tuple[Choice, ...]:
        """Choices that can win something (all but Against all)."""
        return tuple(c for c in self.choices if not c.against_all)

    def has_line(self, key: str) -> bool:
        return key in self.frame.columns

    def line(self, key: str, *, fill: int | None = 0) -> IntArray:
        """A protocol line as an int64 array (nulls filled with ``fill``)."""
        if key not in self.frame.columns:
            raise UnknownNameError(
                "protocol line not in this table",
                file=self.source,
                field=key,
                expected=" | ".join(c for c in self.frame.columns if c in self.profile.line_keys),
            )
        col = self.frame.get_column(key)
        if fill is not None:
            col = col.fill_null(fill)
        return col.to_numpy().astype(np.int64, copy=False)

    def votes(self, choice: str | Choice) -> IntArray:
        """Votes for one choice per station."""
        c = choice if isinstance(choice, Choice) else self.choice(choice)
        return self.frame.get_column(c.id).fill_null(0).to_numpy().astype(np.int64, copy=False)

    def vote_matrix(self) -> IntArray:
        """Votes as a (stations × choices) int64 matrix, in the order of :attr:`choices`."""
        if not self.choices:
            return np.zeros((self.frame.height, 0), dtype=np.int64)
        sub = self.frame.select([pl.col(c.id).fill_null(0) for c in self.choices])
        return sub.to_numpy().astype(np.int64, copy=False)

    def registered(self) -> IntArray:
        """Voters on the list."""
        return self.line("voters_on_list")

    def issued(self) -> IntArray:
        """Ballots issued: the ``issued`` line, or early + in station + outside.

        A table without any issued line (a research file of registered, ballots and votes)
        counts the ballots found, :meth:`cast`, as the field's turnout studies do (Kobak,
        Shpilkin & Pshenichnikov 2016: turnout = (valid + invalid) / registered); the reader
        says so in the table's notes.
        """
        if self.has_line("issued"):
            return self.line("issued")
        parts = [k for k in _ISSUED_PARTS if k in self]
        if not parts:
            return self.cast()
        total: IntArray = np.sum([self.line(k) for k in parts], axis=0).astype(np.int64)
        return total

    def has_issued(self) -> bool:
        """Whether the table has a ballots-issued line (``issued`` or its parts)."""
        return any(k in self for k in ("issued", *_ISSUED_PARTS))

    @property
    def turnout_basis(self) -> str:
        """The line(s) :meth:`turnout_ballots` counts, as a line key or a short phrase."""
        line = self.profile.turnout_line
        if line is not None and line in self:
            return line
        if self.has_issued():
            return "issued"
        return "cast (valid + invalid: the file has no ballots-issued line)"

    def turnout_ballots(self) -> IntArray:
        """Ballots that count toward turnout (divide by :meth:`registered`), one definition.

        The profile's ``turnout_line`` when the commission publishes turnout on another line
        and the table has it (Poland: valid cards taken from the box, postal votes included);
        otherwise the ballots issued; a file without any issued line (the line is optional)
        falls back to the ballots found, valid + invalid. :attr:`turnout_basis` says which.

        >>> import polars as pl
        >>> t = ProtocolTable.from_frame(pl.DataFrame({"station": ["1"], "voters_on_list": [100],
        ...     "invalid": [2], "valid": [58], "A": [58]}), profile="plain", choices=["A"])
        >>> t.turnout_ballots().tolist(), t.turnout_basis.split(" ")[0]
        ([60], 'cast')
        """
        basis = self.turnout_basis
        if basis == "issued":
            return self.issued()
        if basis in self:
            return self.line(basis)
        return self.cast()

    def valid(self) -> IntArray:
        """Valid ballots: the ``valid`` line, or Σ votes where the layout has no such line."""
        if self.has_line("valid"):
            return self.line("valid")
        total: IntArray = self.vote_matrix().sum(axis=1)
        return total

    def cast(self) -> IntArray:
        """Ballots found and counted: valid + invalid."""
        invalid = self.line("invalid") if self.has_line("invalid") else 0
        return self.valid() + invalid

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.frame.columns

    def choice(self, name: str) -> Choice:
        """Find a choice by id, exact name, or a unique case-insensitive substring.

        Raises
        ------
        UnknownNameError
            When no choice or several choices match.
        """
        for c in self.choices:
            if name in (c.id, c.name):
                return c
        key = normalize_name(name)
        exact = [c for c in self.choices if normalize_name(c.name) == key]
        if len(exact) == 1:
            return exact[0]
        # all words of the query appear in the name, in any order ("DUDA Andrzej Sebastian")
        words = key.split()
        hits = [c for c in self.choices if all(w in normalize_name(c.name) for w in words)]
        if len(hits) == 1:
            return hits[0]
        names = " | ".join(c.name for c in (hits or list(self.choices)))
        raise UnknownNameError(
            "choice name matches several choices" if hits else "choice name matches no choice",
            file=self.source,
            field="choice",
            expected=names,
            found=name,
        )

    def totals(self) -> dict[str, int]:
        """Sum of votes per choice id over all stations."""
        m = self.vote_matrix()
        return {c.id: int(v) for c, v in zip(self.choices, m.sum(axis=0), strict=True)}

    def leader(self) -> Choice:
        """The contender (not Against all) with the most votes in total."""
        if not self.contenders:
            raise UnknownNameError("the table has no choices", file=self.source, field="choice")
        tot = self.totals()
        return max(self.contenders, key=lambda c: tot[c.id])

    def filter(self, mask: npt.NDArray[np.bool_] | pl.Series) -> ProtocolTable:
        """A table with the selected rows only."""
        series = mask if isinstance(mask, pl.Series) else pl.Series(np.asarray(mask, dtype=bool))
        return dataclasses.replace(self, frame=self.frame.filter(series))

    def level_values(self, level: str) -> npt.NDArray[np.object_]:
        """The unit names at a hierarchy level, per station."""
        if level not in self.frame.columns:
            raise UnknownNameError(
                "unknown hierarchy level",
                file=self.source,
                field="level",
                expected=" | ".join((*self.levels, "station")),
                found=level,
            )
        return self.frame.get_column(level).cast(pl.Utf8).fill_null("").to_numpy()
