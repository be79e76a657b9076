"""Official results: the one concept both survey comparisons (and the service's import) use.

An exit poll or a quick count is compared with what the commission published. That can come
as a precinct file (every station's protocol: national totals, totals per stratum and every
station's figures follow), or as a table of totals: ``choice,votes`` (national), or
``stratum,choice,votes`` / ``station,choice,votes`` (per stratum or per station, national
totals summed from them). :func:`read_official` reads any of these; :class:`OfficialResults`
holds them and hands each comparison what it needs.

The ``choice,votes`` rules are those of :mod:`saylau.io.votes` (one reader): header names
``choice``/``party``/``candidate`` and ``votes``/``count`` (or ``share``/``percent`` for shares),
thousands grouped by spaces, each choice once, one Against-all line. In a precinct file an empty
cell is a missing figure, never a zero.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "official.csv"
>>> _ = p.write_text("choice,votes\\nA,600\\nAgainst all,40\\n", encoding="utf-8")
>>> off = read_official(p)
>>> off.totals, off.level
({'A': 600.0, 'Against all': 40.0}, None)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from .._exceptions import DataFormatError
from ..domain.table import ProtocolTable
from ..io.votes import read_choice_table

__all__ = ["OfficialResults", "read_official"]

_SEP = " | "  # the stratum label of several columns, as in SamplingFrame.stratum_labels


@dataclasses.dataclass(frozen=True)
class OfficialResults:
    """What the commission published, national and (where known) by stratum or station.

    Parameters
    ----------
    totals : mapping of str to float
        National votes (or shares) per choice, Against all included.
    by_unit : mapping of str to mapping
        Per stratum (``level="stratum"``) or per station (``level="station"``) figures;
        ``None`` for an empty cell.
    level : {"stratum", "station"} or None
    stations : polars.DataFrame or None
        From a precinct file: one row per station, ``station``, the hierarchy levels and one
        column per choice (nulls kept), to form totals by any strata columns.
    source : str or None
    """

    totals: Mapping[str, float]
    by_unit: Mapping[str, Mapping[str, float | None]] = dataclasses.field(default_factory=dict)
    level: str | None = None
    stations: pl.DataFrame | None = None
    source: str | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_table(cls, table: ProtocolTable, *, source: str | None = None) -> OfficialResults:
        """Official results from a precinct results table (every station's protocol).

        >>> t = ProtocolTable.from_frame(pl.DataFrame({"station": ["1", "2"],
        ...     "region": ["N", "S"], "A": [10, None], "B": [5, 7]}),
        ...     profile="plain", choices=["A", "B"], levels=["region"])
        >>> off = OfficialResults.from_table(t)
        >>> off.totals, off.stratum_totals(["region"])["S"]
        ({'A': 10.0, 'B': 12.0}, {'A': 0.0, 'B': 7.0})
        >>> off.station_figures()["2"]
        {'A': None, 'B': 7.0}
        """
        choices = [c.id for c in table.choices]
        cols = ["station", *[c for c in table.levels if c in table.frame.columns], *choices]
        stations = table.frame.select(cols).with_columns(pl.col("station").cast(pl.Utf8))
        sums = stations.select([pl.col(c).fill_null(0).sum() for c in choices]).row(0)
        return cls(
            totals={c: float(v) for c, v in zip(choices, sums, strict=True)},
            by_unit={},
            level="station",
            stations=stations,
            source=source or table.source,
        )

    @classmethod
    def from_totals(
        cls,
        totals: Mapping[str, float] | None = None,
        *,
        by_unit: Mapping[str, Mapping[str, float | None]] | None = None,
        level: str | None = None,
        source: str | None = None,
    ) -> OfficialResults:
        """Official results from national totals, or from per-stratum / per-station figures
        (national totals are their sums).

        >>> OfficialResults.from_totals(by_unit={"N": {"A": 3}, "S": {"A": 4}},
        ...                             level="stratum").totals
        {'A': 7.0}
        """
        if level not in (None, "stratum", "station"):
            raise DataFormatError(
                "unknown level of official figures",
                field="level",
                expected="stratum | station",
                found=level,
            )
        units = {str(k): dict(v) for k, v in (by_unit or {}).items()}
        if totals is None:
            summed: dict[str, float] = {}
            for figures in units.values():
                for c, v in figures.items():
                    summed[c] = summed.get(c, 0.0) + (0.0 if v is None else float(v))
            totals = summed
        if not totals:
            raise DataFormatError("official results are empty", file=source, field="votes")
        return cls(
            totals={str(k): float(v) for k, v in totals.items()},
            by_unit=units,
            level=level if units else None,
            source=source,
        )

    # ------------------------------------------------------------------ views
    def stratum_totals(self, columns: Sequence[str]) -> dict[str, dict[str, float]]:
        """Official votes per stratum, the label joining ``columns`` as the frame does.

        Per-stratum figures read from a file are returned as they are; from a precinct file
        they are summed over the stations (an empty cell adds nothing). Empty when neither is
        known or a column is absent.
        """
        if self.level == "stratum":
            return {
                h: {c: 0.0 if v is None else float(v) for c, v in f.items()}
                for h, f in self.by_unit.items()
            }
        st = self.stations
        if st is None or not columns or any(c not in st.columns for c in columns):
            return {}
        choices = list(self.totals)
        label = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in columns], separator=_SEP)
        sums = (
            st.select(label.alias("__h"), *[pl.col(c).fill_null(0) for c in choices])
            .group_by("__h")
            .agg(pl.all().sum())
        )
        return {
            str(r["__h"]): {c: float(r[c]) for c in choices} for r in sums.iter_rows(named=True)
        }

    def station_figures(self) -> dict[str, dict[str, float | None]]:
        """Every station's official figures (``None`` for an empty cell); empty if unknown."""
        if self.level == "station" and self.by_unit:
            return {s: dict(f) for s, f in self.by_unit.items()}
        if self.stations is None:
            return {}
        choices = list(self.totals)
        return {
            str(r["station"]): {c: None if r[c] is None else float(r[c]) for c in choices}
            for r in self.stations.iter_rows(named=True)
        }

    def station_pairs(
        self, observed: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, tuple[dict[str, float | None], dict[str, float | None]]]:
        """``{station: (observed, official)}`` for the stations in both (empty cells kept as
        ``None``: missing, never zero)."""
        official = self.station_figures()
        out: dict[str, tuple[dict[str, float | None], dict[str, float | None]]] = {}
        for sid, figures in observed.items():
            if str(sid) not in official:
                continue
            obs = {c: None if v is None else float(v) for c, v in figures.items()}
            out[str(sid)] = (obs, official[str(sid)])
        return out


def read_official(path: str | Path, *, by: str | None = None) -> OfficialResults:
    """Read official results: a ``choice,votes`` table (national, or per ``by`` unit with a
    ``station`` or ``stratum`` column) or any precinct file :func:`saylau.io.read_protocols`
    reads.

    Parameters
    ----------
    path : str or Path
    by : {"station", "stratum"}, optional
        The unit column of a long table (default: ``station`` or ``stratum`` when the header
        has one).

    Returns
    -------
    OfficialResults

    Raises
    ------
    DataFormatError
        Naming the file, row and field of the first bad cell.
    """
    from ..io import read_protocols
    from ..io.votes import looks_like_choice_table

    kind = looks_like_choice_table(path)
    if kind is None:
        return OfficialResults.from_table(read_protocols(path), source=str(path))
    unit = by if by is not None else (kind if kind in ("station", "stratum") else None)
    figures = read_choice_table(path, by=unit, shares=True)
    if unit is None:
        return OfficialResults.from_totals(
            {c: float(v) for c, v in figures[""].items()}, source=str(path)
        )
    return OfficialResults.from_totals(by_unit=figures, level=unit, source=str(path))
