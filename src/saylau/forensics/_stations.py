"""Declared, counted rules for stations that the forensic methods cannot read as ordinary ones.

Real precinct files contain rows that are not ordinary polling stations. Each forensic method
must treat them by a rule that is written down and whose use is counted and reported, never
silently. The rules, in the order they are applied (a row gets the first rule that fits):

``empty``
    A row of a territory without data: the registered voters, the ballots issued, the ballots
    found and every choice's votes are all missing or zero. Excluded from every method and from
    the totals (it carries no number).
``zero_registered``
    Zero or missing registered voters in a row that does carry ballots or votes. A turnout cannot
    be computed; excluded from every method that divides by the registered voters.
``more_ballots_than_voters``
    More ballots issued, or more ballots found (valid + invalid), than registered voters: a
    turnout above 100 %. Kept in the totals; each method's own inclusion rules drop it (the
    integer test keeps turnouts up to 99 %, Shpilkin's bins end at 100 %).
``oversized``
    A row with at least ``oversized_min`` (10,000 by default) registered voters: an
    electronic-voting pseudo-station (Russia 2021: tens of thousands of remote voters of a whole
    region in one row) or an aggregated out-of-country row. Russian law caps an ordinary station
    at 3,000 voters (Federal law 67-FZ, art. 19), so 10,000 is far outside the ordinary range.
    Flagged and counted but **kept** by default, as in the published analyses that the methods
    reproduce; drop them with ``table.filter(~quality.mask("oversized"))`` (or the CLI option
    ``--drop-oversized``) to see whether a finding depends on them.

Examples
--------
>>> import polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> t = ProtocolTable.from_frame(
...     pl.DataFrame({"station": ["1", "2", "3", "4"],
...                   "voters_on_list": [1000, 0, 0, 50_000],
...                   "issued": [600, 10, 0, 45_000], "invalid": [5, 0, 0, 0],
...                   "valid": [590, 10, 0, 45_000], "A": [400, 10, 0, 30_000],
...                   "B": [190, 0, 0, 15_000]}),
...     profile="plain", choices=["A", "B"])
>>> q = station_quality(t)
>>> q.counts
{'empty': 1, 'zero_registered': 1, 'more_ballots_than_voters': 0, 'oversized': 1}
>>> q.usable.tolist()
[True, False, False, True]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .._exceptions import EmptyInputError, SaylauInputError
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Result

__all__ = [
    "OVERSIZED_MIN",
    "STATION_RULES",
    "StationArrays",
    "StationQuality",
    "effective_level",
    "group_codes",
    "resolve_leader",
    "station_arrays",
    "station_quality",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Registered voters from which a row is flagged as an oversized (pseudo-)station.
OVERSIZED_MIN = 10_000

#: Each rule's name, what it means and how the forensic methods treat it.
STATION_RULES: Mapping[str, str] = {
    "empty": "territory without data (registered, ballots and votes all missing or zero): "
    "excluded from every method and from the totals",
    "zero_registered": "zero or missing registered voters in a row with ballots or votes: "
    "excluded from every method",
    "more_ballots_than_voters": "ballots issued or found exceed registered voters (turnout "
    "> 100%): kept in the totals, dropped by each method's own turnout range",
    "oversized": "at least {oversized_min:,} registered voters in one row (electronic-voting or "
    "aggregated pseudo-station): flagged and kept, as in the published analyses",
}


@dataclasses.dataclass(frozen=True, eq=False)
class StationQuality(Result):
    """Which stations each rule caught, and how many.

    Attributes
    ----------
    stations : int
        Rows in the table.
    counts : dict
        Rule name -> number of rows it caught (each row counted under its first rule).
    rules : dict
        Rule name -> the declared rule and its handling.
    oversized_min : int
        The threshold of the ``oversized`` rule.
    usable : numpy.ndarray of bool
        Rows that are neither ``empty`` nor ``zero_registered`` (not rendered in JSON).
    """

    stations: int
    counts: dict[str, int]
    rules: dict[str, str]
    oversized_min: int
    _masks: dict[str, BoolArray] = dataclasses.field(repr=False)

    def mask(self, rule: str) -> BoolArray:
        """The boolean row mask of one rule (a copy)."""
        if rule not in self._masks:
            raise SaylauInputError(
                "unknown station rule", field="rule", expected=" | ".join(self._masks), found=rule
            )
        return self._masks[rule].copy()

    @property
    def usable(self) -> BoolArray:
        """Rows every method may use: not ``empty`` and not ``zero_registered``."""
        return ~(self._masks["empty"] | self._masks["zero_registered"])


def station_quality(table: ProtocolTable, *, oversized_min: int = OVERSIZED_MIN) -> StationQuality:
    """Apply the declared bad-station rules to a table; return the masks and their counts.

    Parameters
    ----------
    table : ProtocolTable
        Precinct protocols.
    oversized_min : int, default 10,000
        Registered voters from which a row counts as an oversized (pseudo-)station.

    Returns
    -------
    StationQuality

    See Also
    --------
    station_arrays : the arrays every forensic method reads, with this quality attached.

    Examples
    --------
    >>> import polars as pl
    >>> from saylau.domain.table import ProtocolTable
    >>> t = ProtocolTable.from_frame(
    ...     pl.DataFrame({"station": ["1", "2"], "voters_on_list": [100, 80],
    ...                   "issued": [60, 90], "invalid": [0, 0], "valid": [60, 90],
    ...                   "A": [60, 90]}), profile="plain", choices=["A"])
    >>> station_quality(t).counts["more_ballots_than_voters"]
    1
    """
    n = table.stations
    reg_raw = table.frame.get_column("voters_on_list") if "voters_on_list" in table else None
    registered = table.registered() if reg_raw is not None else np.zeros(n, dtype=np.int64)
    issued = _issued_or_zero(table)
    cast = _line_or_zero(table, "valid") + _line_or_zero(table, "invalid")
    votes = table.vote_matrix()
    has_any = (registered > 0) | (issued > 0) | (cast > 0)
    if votes.shape[1]:
        has_any |= (votes > 0).any(axis=1)
    empty = ~has_any
    zero_reg = (registered <= 0) & ~empty
    rest = ~(empty | zero_reg)
    more = rest & ((issued > registered) | (cast > registered))
    oversized = rest & ~more & (registered >= oversized_min)
    masks = {
        "empty": empty,
        "zero_registered": zero_reg,
        "more_ballots_than_voters": more,
        "oversized": oversized,
    }
    rules = dict(STATION_RULES)
    rules["oversized"] = rules["oversized"].format(oversized_min=oversized_min)
    return StationQuality(
        stations=n,
        counts={k: int(v.sum()) for k, v in masks.items()},
        rules=rules,
        oversized_min=int(oversized_min),
        _masks=masks,
    )


def _line_or_zero(table: ProtocolTable, key: str) -> IntArray:
    if key in table:
        return table.line(key)
    return np.zeros(table.stations, dtype=np.int64)


def _issued_or_zero(table: ProtocolTable) -> IntArray:
    keys = ("issued", "issued_early", "issued_in_station", "issued_outside")
    if any(k in table for k in keys):
        return table.issued()
    return np.zeros(table.stations, dtype=np.int64)


@dataclasses.dataclass(frozen=True, eq=False)
class StationArrays:
    """The per-station numbers the forensic methods read, for the usable rows only.

    ``registered``, ``issued``, ``cast`` (valid + invalid) and ``leader`` are int64 arrays;
    ``region`` holds the top-level unit name of each row (``""`` without hierarchy).
    ``quality`` describes the whole table, before the unusable rows were dropped.
    """

    registered: IntArray
    issued: IntArray
    cast: IntArray
    leader: IntArray
    region: npt.NDArray[np.object_]
    leader_name: str
    quality: StationQuality

    def __len__(self) -> int:
        return int(self.registered.shape[0])


def resolve_leader(table: ProtocolTable, leader: str | Choice | None) -> Choice:
    """The choice named by the user, or the contender with the most votes."""
    if isinstance(leader, Choice):
        return leader
    if leader is None:
        return table.leader()
    return table.choice(leader)


def station_arrays(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    level: str | None = "region",
    oversized_min: int = OVERSIZED_MIN,
) -> StationArrays:
    """Read the arrays the turnout/leader methods need, dropping rows by the declared rules.

    Parameters
    ----------
    table : ProtocolTable
    leader : str, Choice or None
        The leading choice; by default the contender with most votes in total.
    level : str or None, default "region"
        The hierarchy level whose names are returned in ``region`` (the default is ignored when
        the table has no regions; another unknown level raises ``UnknownNameError``).
    oversized_min : int
        Threshold of the ``oversized`` rule (flagged only).

    Raises
    ------
    EmptyInputError
        When the table has no rows, or no usable row.
    UnknownNameError
        When ``leader`` matches no choice or several.

    Examples
    --------
    >>> import polars as pl
    >>> from saylau.domain.table import ProtocolTable
    >>> t = ProtocolTable.from_frame(
    ...     pl.DataFrame({"station": ["1", "2"], "voters_on_list": [100, 0],
    ...                   "issued": [60, 0], "invalid": [0, 0], "valid": [60, 0],
    ...                   "A": [40, 0], "B": [20, 0]}), profile="plain", choices=["A", "B"])
    >>> a = station_arrays(t)
    >>> len(a), a.leader_name, a.quality.counts["empty"]
    (1, 'A', 1)
    """
    if table.stations == 0:
        raise EmptyInputError(
            "the table has no stations", file=table.source, expected="at least one row", found=0
        )
    choice = resolve_leader(table, leader)
    quality = station_quality(table, oversized_min=oversized_min)
    keep = quality.usable
    if not keep.any():
        raise EmptyInputError(
            "no usable station: every row is empty or has zero registered voters",
            file=table.source,
            expected="a row with registered voters",
            found=f"{table.stations} unusable rows",
        )
    level = effective_level(table, level)
    if level is not None:
        region = table.level_values(level)
    else:
        region = np.full(table.stations, "", dtype=object)
    return StationArrays(
        registered=table.registered()[keep],
        issued=table.turnout_ballots()[keep],
        cast=(_line_or_zero(table, "valid") + _line_or_zero(table, "invalid"))[keep],
        leader=table.votes(choice)[keep],
        region=np.asarray(region, dtype=object)[keep],
        leader_name=choice.name,
        quality=quality,
    )


def effective_level(table: ProtocolTable, by: str | None) -> str | None:
    """The level to group by: ``None`` for ``None``, or for the default "region" on a table
    without regions; any other missing level raises :class:`UnknownNameError`."""
    if by is None or (by == "region" and by not in table.frame.columns):
        return None
    table.level_values(by)  # raises UnknownNameError for an unknown level
    return by


def group_codes(region: npt.NDArray[np.object_]) -> tuple[list[str], IntArray]:
    """Sorted unique unit names and each row's code into them."""
    names, codes = np.unique(region.astype(str), return_inverse=True)
    return [str(x) for x in names], codes.astype(np.int64)
