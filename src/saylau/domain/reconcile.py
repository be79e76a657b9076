"""Observers' copies of protocols against each other and against the official figures.

:func:`consensus` groups the copies of each station: copies with identical figures confirm each
other; different figures are a conflict that stands until someone chooses a version.
:func:`compare_copies` then sets the agreed copy of each station against the official protocol
line by line: every station where a figure differs, by how much, which choices gained and lost
votes, summed by region and nationally (votes moved from the copy to the official result, and
turnout padding: ballots issued officially beyond the copy).

Examples
--------
>>> import polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> mk = lambda a, b: ProtocolTable.from_frame(pl.DataFrame({
...     "station": ["1", "2"], "voters_on_list": [100, 100], "issued": [60, 70],
...     "invalid": [0, 0], "valid": [60, 70], "A": [40, a], "B": [20, b]}),
...     profile="plain", choices=["A", "B"])
>>> r = compare_copies(mk(30, 40), mk(45, 25))
>>> r.stations_differing, r.moved["A"], r.moved["B"]
(1, 15, -15)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from .._exceptions import SaylauInputError
from ..results import Finding, Result
from .table import ProtocolTable

__all__ = ["CopyComparison", "StationConsensus", "compare_copies", "consensus"]


@dataclasses.dataclass(frozen=True)
class StationConsensus:
    """The copies of one station and what they agree on.

    ``state`` is ``agreed`` (every copy has the same figures), ``resolved`` (they differed and a
    version was chosen), ``conflict`` (they differ, nothing chosen) or ``unresolved`` (they
    differ and the coordinator recorded that no version can be chosen). ``lines`` holds the
    agreed or chosen figures (None otherwise), ``versions`` the distinct figure sets with the
    ids of the copies that carry each.
    """

    station: str
    state: str
    copies: int
    lines: Mapping[str, int | None] | None
    versions: tuple[tuple[tuple[str, ...], Mapping[str, int | None]], ...]
    chosen: str | None = None


def consensus(
    copies: Sequence[tuple[str, str, Mapping[str, int | None]]],
    *,
    choices: Mapping[str, str | None] | None = None,
) -> list[StationConsensus]:
    """Per station, the agreement among copies.

    Parameters
    ----------
    copies : sequence of (copy id, station, figures)
        The current version of every copy (corrections already applied).
    choices : mapping station → copy id or None, optional
        A recorded decision per station: the copy whose figures stand, or None for "unresolved".

    Examples
    --------
    >>> c = consensus([("a", "1", {"x": 1}), ("b", "1", {"x": 1}), ("c", "2", {"x": 1}),
    ...                ("d", "2", {"x": 2})])
    >>> [(s.station, s.state, s.copies) for s in c]
    [('1', 'agreed', 2), ('2', 'conflict', 2)]
    >>> consensus([("c", "2", {"x": 1}), ("d", "2", {"x": 2})], choices={"2": "d"})[0].lines
    {'x': 2}
    """
    decided = dict(choices or {})
    by_station: dict[str, dict[tuple[tuple[str, int | None], ...], list[str]]] = {}
    figures: dict[tuple[tuple[str, int | None], ...], Mapping[str, int | None]] = {}
    for cid, station, figs in copies:
        key = tuple(sorted(figs.items()))
        figures[key] = figs
        by_station.setdefault(station, {}).setdefault(key, []).append(cid)
    out = []
    for station in sorted(by_station, key=lambda s: (len(s), s)):
        groups = by_station[station]
        versions = tuple((tuple(ids), figures[k]) for k, ids in groups.items())
        n = sum(len(ids) for ids in groups.values())
        if len(groups) == 1:
            out.append(StationConsensus(station, "agreed", n, versions[0][1], versions))
            continue
        if station in decided:
            chosen = decided[station]
            if chosen is None:
                out.append(StationConsensus(station, "unresolved", n, None, versions))
                continue
            lines: Mapping[str, int | None] | None = next(
                (f for ids, f in versions if chosen in ids), None
            )
            if lines is not None:
                out.append(StationConsensus(station, "resolved", n, lines, versions, chosen))
                continue
        out.append(StationConsensus(station, "conflict", n, None, versions))
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class CopyComparison(Result):
    """Observers' copies against official protocols, line by line.

    Attributes
    ----------
    stations_compared : int
        Stations with both a copy and an official protocol.
    stations_differing : int
    differences : polars.DataFrame
        One row per differing line: ``station``, ``region``, ``line``, ``kind`` (``line`` or
        ``choice``), ``copy``, ``official``, ``difference`` (official − copy). A figure missing
        on either side (not legible on the copy, not published) is not compared.
    moved : mapping
        For each choice, Σ (official − copy) over the compared stations: votes it gained (+) or
        lost (−) between the copies and the official result.
    by_region : polars.DataFrame
        The same sums per region (one column per choice, plus ``issued`` padding and the number
        of stations differing).
    issued_padding : int
        Σ (official − copy) of ballots issued (turnout padding when positive).
    missing_official, missing_copy : tuple of str
        Stations with a copy but no official protocol, and the reverse.
    finding : Finding
        A screen: the comparison finds differences, it does not say who made them.
    """

    stations_compared: int
    stations_differing: int
    differences: pl.DataFrame
    moved: Mapping[str, int]
    by_region: pl.DataFrame
    issued_padding: int
    missing_official: tuple[str, ...]
    missing_copy: tuple[str, ...]
    finding: Finding


def _issued(frame: pl.DataFrame) -> pl.Expr | None:
    parts = [c for c in ("issued_early", "issued_in_station", "issued_outside") if c in frame]
    if "issued" in frame.columns:
        return pl.col("issued")
    if parts:
        return pl.sum_horizontal([pl.col(c) for c in parts])
    return None


def compare_copies(
    copies: ProtocolTable,
    official: ProtocolTable,
    *,
    region: Mapping[str, str] | None = None,
) -> CopyComparison:
    """Compare the agreed copy of each station with its official protocol.

    Parameters
    ----------
    copies : ProtocolTable
        One row per station (the consensus copies).
    official : ProtocolTable
        The official protocols (the same profile and choices, matched by ``station``).
    region : mapping station → region, optional
        For the regional sums (default: the tables' first level column, else one region "all").

    Returns
    -------
    CopyComparison
    """
    choice_ids = [c.id for c in copies.choices]
    missing = [c for c in choice_ids if c not in official.frame.columns]
    if missing:
        raise SaylauInputError("choice absent from the official table", field=missing[0])
    lines = [k for k in copies.profile.line_keys if k in copies.frame and k in official.frame]
    cols = [*lines, *choice_ids]
    a = copies.frame.select("station", *cols)
    b = official.frame.select("station", *cols)
    if region is None and copies.levels:
        region = dict(copies.frame.select("station", copies.levels[0]).iter_rows())
    both = a.join(b, on="station", how="inner", suffix="__of")
    missing_official = tuple(sorted(set(a["station"]) - set(b["station"])))
    missing_copy = tuple(sorted(set(b["station"]) - set(a["station"])))
    regions = [(region or {}).get(s, "all") for s in both["station"]]
    both = both.with_columns(pl.Series("__region", regions, dtype=pl.Utf8))
    rows: list[dict[str, Any]] = []
    for rec in both.iter_rows(named=True):
        for c in cols:
            cv, ov = rec[c], rec[c + "__of"]
            if cv is None or ov is None:
                continue  # a figure not read on the copy (or not published) is not compared
            if cv != ov:
                diff = int(ov) - int(cv)
                rows.append(
                    {
                        "station": rec["station"],
                        "region": rec["__region"],
                        "line": c,
                        "kind": "choice" if c in choice_ids else "line",
                        "copy": cv,
                        "official": ov,
                        "difference": diff,
                    }
                )
    differences = pl.DataFrame(
        rows,
        schema={
            "station": pl.Utf8,
            "region": pl.Utf8,
            "line": pl.Utf8,
            "kind": pl.Utf8,
            "copy": pl.Int64,
            "official": pl.Int64,
            "difference": pl.Int64,
        },
    )
    delta = both.select(
        "station",
        "__region",
        *[(pl.col(c + "__of") - pl.col(c)).fill_null(0).alias(c) for c in choice_ids],
    )
    issued_a, issued_b = _issued(a), _issued(b)
    padding_expr = None
    if issued_a is not None and issued_b is not None:
        ia = a.select("station", issued_a.alias("__i"))
        ib = b.select("station", issued_b.alias("__i"))
        pad = ia.join(ib, on="station", suffix="__of").select(
            "station", (pl.col("__i__of") - pl.col("__i")).fill_null(0).alias("issued")
        )
        delta = delta.join(pad, on="station", how="left")
        padding_expr = pl.col("issued").sum()
    differing = set(differences["station"])
    delta = delta.with_columns(pl.col("station").is_in(list(differing)).alias("__diff"))
    by_region = (
        delta.group_by("__region")
        .agg(
            pl.col("__diff").sum().alias("stations_differing"),
            *[pl.col(c).sum() for c in choice_ids],
            *([padding_expr.alias("issued")] if padding_expr is not None else []),
        )
        .rename({"__region": "region"})
        .sort("region")
    )
    moved = {c: int(delta[c].sum()) for c in choice_ids}
    padding = int(delta["issued"].sum()) if "issued" in delta.columns else 0
    finding = Finding(
        alarm=False,
        kind="screen",
        caveats=(
            "a difference between a copy and the official protocol shows that figures changed "
            "after the count or that the copy is wrong; it does not say which",
            "stations without a copy are not compared; copies that fail their own control "
            "relations should be checked before being quoted",
        ),
    )
    return CopyComparison(
        stations_compared=both.height,
        stations_differing=len(differing),
        differences=differences,
        moved=moved,
        by_region=by_region,
        issued_padding=padding,
        missing_official=missing_official,
        missing_copy=missing_copy,
        finding=finding,
    )
