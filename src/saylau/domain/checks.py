"""Checking the arithmetic of precinct protocols against their profile's control relations.

One vectorised pass over a whole :class:`~saylau.domain.table.ProtocolTable`: for every relation
both sides are computed for all stations at once, and every violation is returned with its
lines, the expected and found amounts and the difference. A protocol is ``ok``, ``soft``
(only soft relations violated: flagged) or ``failed`` (a strict relation violated), as the
Russian ballot-scanner (KOIB) and GAS "Vybory" software classify them. A relation whose lines
are missing in a row (empty cells) cannot be checked there; such rows are counted, not passed.

Examples
--------
>>> import polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> t = ProtocolTable.from_frame(pl.DataFrame({
...     "station": ["1", "2"], "voters_on_list": [100, 50], "issued": [60, 70],
...     "invalid": [2, 1], "valid": [58, 40], "A": [50, 30], "B": [8, 9]}),
...     profile="plain", choices=["A", "B"])
>>> r = validate(t)
>>> r.ok, r.soft_failed, r.failed
(1, 0, 1)
>>> v = r.violations[0]
>>> v.station, v.relation, v.found, v.expected, v.difference
('2', 'valid_equal_votes', 40, 39, 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import SaylauInputError
from ..results import Result
from .profiles import CHOICES, ControlRelation, ProtocolProfile, get_profile
from .table import ProtocolTable, RowProblem

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_SOFT",
    "RowCheck",
    "ValidationReport",
    "Violation",
    "check_row",
    "validate",
]

STATUS_OK, STATUS_SOFT, STATUS_FAILED = "ok", "soft", "failed"


@dataclasses.dataclass(frozen=True)
class Violation:
    """One violated control relation at one station.

    ``found`` is the left-hand side as written in the protocol, ``expected`` the right-hand
    side the relation requires (or bounds), ``difference = found - expected``.
    """

    station: str
    relation: str
    strict: bool
    lines: tuple[str, ...]
    line_numbers: tuple[int | None, ...]
    description: str
    found: int
    expected: int
    difference: int


@dataclasses.dataclass(frozen=True, eq=False)
class ValidationReport(Result):
    """Every station's status and every violated relation.

    Attributes
    ----------
    profile : str
    source : str or None
    stations, ok, soft_failed, failed : int
        Counts of stations by status.
    by_relation : dict
        For each relation: ``strict``, ``description``, ``source``, ``violations``,
        ``not_checkable`` (rows with an empty cell among its lines) and ``applicable``.
    violations : tuple of Violation
    rejected : tuple of RowProblem
        Rows kept out when the file was read (bad cells, duplicate ids).
    notes : tuple of str
    """

    profile: str
    source: str | None
    stations: int
    ok: int
    soft_failed: int
    failed: int
    by_relation: dict[str, dict[str, Any]]
    violations: tuple[Violation, ...]
    rejected: tuple[RowProblem, ...]
    notes: tuple[str, ...]
    _station_ids: npt.NDArray[np.object_] = dataclasses.field(repr=False)
    _status: npt.NDArray[np.str_] = dataclasses.field(repr=False)

    def status_frame(self) -> pl.DataFrame:
        """One row per station: ``station``, ``status`` (ok / soft / failed)."""
        return pl.DataFrame({"station": self._station_ids.tolist(), "status": self._status})

    def to_frame(self) -> pl.DataFrame:
        """Every violation as a row."""
        return pl.DataFrame(
            [dataclasses.asdict(v) for v in self.violations],
            schema={
                "station": pl.Utf8,
                "relation": pl.Utf8,
                "strict": pl.Boolean,
                "lines": pl.List(pl.Utf8),
                "line_numbers": pl.List(pl.Int64),
                "description": pl.Utf8,
                "found": pl.Int64,
                "expected": pl.Int64,
                "difference": pl.Int64,
            },
        )


def _violated(op: str, left: Any, right: Any) -> Any:
    """Where ``left OP right`` fails: one definition for arrays (a table) and ints (a row)."""
    if op == "==":
        return left != right
    if op == ">=":
        return left < right
    return left > right


def _violation(
    rel: ControlRelation, station: str, numbers: Mapping[str, int], desc: str, lv: int, rv: int
) -> Violation:
    lines = rel.lines
    nums = tuple(numbers.get(k) for k in lines)
    return Violation(station, rel.name, rel.strict, lines, nums, desc, lv, rv, lv - rv)


def _order_key(v: Violation) -> tuple[bool, str]:
    """Within a station: strict relations first, then by name."""
    return (not v.strict, v.relation)


def _side(
    frame: pl.DataFrame, terms: tuple[tuple[int, str], ...], choice_ids: list[str]
) -> pl.Expr:
    parts: list[pl.Expr] = []
    for coef, key in terms:
        if key == CHOICES:
            expr = pl.sum_horizontal([pl.col(c) for c in choice_ids]) if choice_ids else pl.lit(0)
            # a choice cell that is empty makes the sum unknown
            nulls = (
                pl.any_horizontal([pl.col(c).is_null() for c in choice_ids])
                if choice_ids
                else pl.lit(False)
            )
            expr = pl.when(nulls).then(None).otherwise(expr)
        else:
            expr = pl.col(key)
        parts.append(expr * coef if coef != 1 else expr)
    out = parts[0]
    for p in parts[1:]:
        out = out + p  # null propagates: not checkable
    return out.cast(pl.Int64)


def validate(
    table: ProtocolTable, *, profile: str | ProtocolProfile | None = None
) -> ValidationReport:
    """Check every protocol of a table against its profile's control relations.

    Parameters
    ----------
    table : ProtocolTable
    profile : str or ProtocolProfile, optional
        Override the table's profile.

    Returns
    -------
    ValidationReport
    """
    prof = (
        table.profile
        if profile is None
        else (get_profile(profile) if isinstance(profile, str) else profile)
    )
    frame = table.frame
    choice_ids = [c.id for c in table.choices]
    numbers = prof.numbers
    n = frame.height
    soft_bad = np.zeros(n, dtype=bool)
    strict_bad = np.zeros(n, dtype=bool)
    stations = frame.get_column("station").to_numpy()
    by_relation: dict[str, dict[str, Any]] = {}
    violations: list[Violation] = []
    notes = list(table.notes)
    exprs: list[pl.Expr] = []
    active: list[ControlRelation] = []
    for rel in prof.relations:
        absent = [k for k in rel.lines if k != CHOICES and k not in frame.columns]
        info: dict[str, Any] = {
            "strict": rel.strict,
            "description": rel.describe(numbers),
            "formula": rel.formula(numbers),
            "source": rel.source,
            "applicable": not absent,
            "violations": 0,
            "not_checkable": 0,
        }
        by_relation[rel.name] = info
        if absent:
            notes.append(f"relation {rel.name} not checked: line(s) {', '.join(absent)} absent")
            continue
        active.append(rel)
        exprs.append(_side(frame, rel.left, choice_ids).alias(f"{rel.name}__l"))
        exprs.append(_side(frame, rel.right, choice_ids).alias(f"{rel.name}__r"))
    sides = frame.select(exprs) if exprs else pl.DataFrame()
    for rel in active:
        left = sides.get_column(f"{rel.name}__l")
        right = sides.get_column(f"{rel.name}__r")
        unknown = (left.is_null() | right.is_null()).to_numpy()
        lv = left.fill_null(0).to_numpy()
        rv = right.fill_null(0).to_numpy()
        bad = _violated(rel.op, lv, rv) & ~unknown
        info = by_relation[rel.name]
        info["violations"] = int(bad.sum())
        info["not_checkable"] = int(unknown.sum())
        (strict_bad if rel.strict else soft_bad)[bad] = True
        desc = info["description"]
        violations.extend(
            _violation(rel, str(stations[i]), numbers, desc, int(lv[i]), int(rv[i]))
            for i in np.flatnonzero(bad)
        )
    status = np.full(n, STATUS_OK, dtype="<U6")
    status[soft_bad] = STATUS_SOFT
    status[strict_bad] = STATUS_FAILED
    order = {s: i for i, s in enumerate(stations.tolist())}
    violations.sort(key=lambda v: (order.get(v.station, 0), *_order_key(v)))
    return ValidationReport(
        profile=prof.name,
        source=table.source,
        stations=n,
        ok=int((status == STATUS_OK).sum()),
        soft_failed=int((status == STATUS_SOFT).sum()),
        failed=int((status == STATUS_FAILED).sum()),
        by_relation=by_relation,
        violations=tuple(violations),
        rejected=table.rejected,
        notes=tuple(notes),
        _station_ids=stations,
        _status=status,
    )


@dataclasses.dataclass(frozen=True)
class RowCheck:
    """The judgement of one protocol: ``status`` (ok / soft / failed) and its violations."""

    status: str
    violations: tuple[Violation, ...]


def _row_side(
    values: Mapping[str, int | None], terms: tuple[tuple[int, str], ...], choices: Sequence[str]
) -> int | None:
    total = 0
    for coef, key in terms:
        if key == CHOICES:
            votes = [values[c] for c in choices]
            if any(v is None for v in votes):
                return None  # a choice cell that is empty makes the sum unknown
            value: int | None = sum(v for v in votes if v is not None)
        else:
            value = values[key]
        if value is None:
            return None  # not checkable
        total += coef * value
    return total


def check_row(
    values: Mapping[str, int | None],
    *,
    profile: str | ProtocolProfile,
    choices: Sequence[str],
    station: str = "",
) -> RowCheck:
    """Check one protocol against its profile's control relations, without building a table.

    The same relations, the same arithmetic and the same status rules as :func:`validate`
    (which checks a whole table at once); for a service that judges copies one at a time, where
    a one-row table would cost milliseconds of query planning per copy. A relation naming a line
    that ``values`` lacks is not applicable; an empty (None) figure among its lines makes it not
    checkable, never passed or failed.

    Parameters
    ----------
    values : mapping of str to int or None
        Line keys and choice ids to figures.
    profile : str or ProtocolProfile
    choices : sequence of str
        The choice ids in ``values`` (their sum is the relations' Σ votes term).
    station : str
        The station id written into each violation.

    Returns
    -------
    RowCheck

    Examples
    --------
    >>> row = {"voters_on_list": 50, "issued": 70, "invalid": 1, "valid": 40, "A": 30, "B": 9}
    >>> r = check_row(row, profile="plain", choices=["A", "B"], station="2")
    >>> r.status, [(v.relation, v.found, v.expected) for v in r.violations]
    ('failed', [('valid_equal_votes', 40, 39), ('list_covers_issued', 50, 70)])
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    missing = [c for c in choices if c not in values]
    if missing:  # as ProtocolTable.from_frame refuses a table without a choice's column
        raise SaylauInputError("choice figure missing", field=missing[0], expected="a figure")
    numbers = prof.numbers
    found: list[Violation] = []
    for rel in prof.relations:
        if any(k != CHOICES and k not in values for k in rel.lines):
            continue  # not applicable, as a column absent from a table
        lv = _row_side(values, rel.left, choices)
        rv = _row_side(values, rel.right, choices)
        if lv is None or rv is None or not _violated(rel.op, lv, rv):
            continue
        found.append(_violation(rel, station, numbers, rel.describe(numbers), lv, rv))
    found.sort(key=_order_key)
    status = STATUS_SOFT if found else STATUS_OK
    return RowCheck(STATUS_FAILED if any(v.strict for v in found) else status, tuple(found))
