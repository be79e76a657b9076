"""Adding protocols up the commission hierarchy: totals, turnout, shares, and the outcome.

Examples
--------
>>> import polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> t = ProtocolTable.from_frame(pl.DataFrame({
...     "station": ["1", "2", "3"], "region": ["Алматы", "Алматы", "Астана"],
...     "voters_on_list": [100, 100, 200], "issued": [60, 50, 100], "invalid": [2, 0, 5],
...     "valid": [58, 50, 95], "A": [40, 20, 50], "B": [10, 20, 30], "against_all": [8, 10, 15]}),
...     profile="plain", choices=["A", "B", "against_all"], levels=["region"])
>>> r = tabulate(t, level="region")
>>> r.units.get_column("unit").to_list(), r.units.get_column("A").to_list()
(['Алматы', 'Астана'], [60, 50])
>>> round(r.national["share:against_all"], 4)
0.1626
>>> r.outcome is None
True
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import polars as pl

from .._exceptions import SaylauInputError, UnknownNameError
from ..domain.rules import Base, RuleSet, get_rules
from ..domain.table import ProtocolTable
from ..results import Result

__all__ = ["Outcome", "Tabulation", "base_total", "decide", "tabulate"]

_BASES = ("valid", "valid_excl_against_all", "cast")


@dataclasses.dataclass(frozen=True)
class Outcome(Result):
    """What the rule set says about the totals: valid or failed, and who wins what.

    Attributes
    ----------
    rules : str
    valid_election : bool
    reasons : tuple of str
        Why the election failed (empty when valid), each citing the rule.
    winner : str or None
        For majority / plurality: the winning choice (None when a run-off or a failure).
    runoff : tuple of str
        For majority rules without a majority: the two choices in the run-off.
    passed : tuple of str
        For proportional rules: lists over the threshold.
    seats : dict or None
        For proportional rules: the seat allocation (see :mod:`saylau.tabulate.seats`).
    turnout : float
        Ballots cast ÷ voters on the list (the participation the laws count).
    notes : tuple of str
    """

    rules: str
    valid_election: bool
    reasons: tuple[str, ...]
    winner: str | None
    runoff: tuple[str, ...]
    passed: tuple[str, ...]
    seats: dict[str, int] | None
    turnout: float
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, eq=False)
class Tabulation(Result):
    """Totals per unit of one hierarchy level, and nationally.

    Attributes
    ----------
    level : str
        The hierarchy level (a column of the table), or ``"station"``.
    base : str
        Base of the shares (``valid``, ``valid_excl_against_all`` or ``cast``).
    choices : tuple of str
    units : polars.DataFrame
        One row per unit: ``unit``, ``stations``, ``voters_on_list``, ``issued`` (0 when the
        file has no issued line), ``turnout_ballots``, ``cast``, ``invalid``, ``valid``, one
        column of votes per choice, ``turnout`` (turnout ballots ÷ list: the ballots issued, or
        the line the commission's turnout counts, see
        :meth:`~saylau.domain.table.ProtocolTable.turnout_ballots`),
        ``turnout_cast`` (cast ÷ list) and ``share:<choice>`` per choice.
    national : dict
        The same figures for the whole table.
    outcome : Outcome or None
        The rule set's verdict on the national totals, when rules were given.
    """

    level: str
    base: str
    choices: tuple[str, ...]
    units: pl.DataFrame
    national: dict[str, Any]
    outcome: Outcome | None


def base_total(votes: dict[str, int], *, against_all: str | None, cast: int, base: Base) -> int:
    """The denominator of shares under a base.

    >>> base_total({"A": 60, "against_all": 10}, against_all="against_all", cast=75,
    ...            base="valid_excl_against_all")
    60
    """
    if base == "valid":
        return sum(votes.values())
    if base == "valid_excl_against_all":
        return sum(v for k, v in votes.items() if k != against_all)
    if base == "cast":
        return cast
    raise UnknownNameError(
        "unknown share base", field="base", expected=" | ".join(_BASES), found=base
    )


def tabulate(
    table: ProtocolTable,
    *,
    level: str | None = None,
    base: Base | None = None,
    rules: RuleSet | str | None = None,
) -> Tabulation:
    """Aggregate a table of protocols to one hierarchy level.

    Parameters
    ----------
    table : ProtocolTable
    level : str, optional
        A hierarchy column (``region``, ``tik``...) or ``"station"``; default the top level.
    base : {"valid", "valid_excl_against_all", "cast"}, optional
        Base of the shares; default the rule set's ``share_base``, else ``"valid"`` (valid
        ballots with Against all, as Kazakhstan's 2023 Mazhilis count did).
    rules : RuleSet or str, optional
        Apply this rule set to the national totals (see :func:`decide`).
    """
    rs = get_rules(rules) if isinstance(rules, str) else rules
    share_base: Base = base or (rs.share_base if rs else "valid")
    if share_base not in _BASES:
        raise UnknownNameError(
            "unknown share base", field="base", expected=" | ".join(_BASES), found=share_base
        )
    lvl = level or (table.levels[0] if table.levels else "station")
    if lvl not in table.frame.columns:
        raise UnknownNameError(
            "unknown hierarchy level",
            file=table.source,
            field="level",
            expected=" | ".join((*table.levels, "station")),
            found=lvl,
        )
    choice_ids = [c.id for c in table.choices]
    aa = table.against_all.id if table.against_all else None
    issued = (
        pl.Series("issued", table.issued())
        if table.has_issued()
        else pl.Series("issued", [None] * table.stations, dtype=pl.Int64)
    )
    frame = table.frame.with_columns(
        issued,
        pl.Series("turnout_ballots", table.turnout_ballots()),
        pl.Series("cast", table.cast()),
        pl.Series("valid", table.valid()),
        pl.Series("invalid", table.cast() - table.valid()),
    )
    sums = ["voters_on_list", "issued", "turnout_ballots", "cast", "invalid", "valid", *choice_ids]
    agg = (
        frame.group_by(pl.col(lvl).cast(pl.Utf8).fill_null("").alias("unit"), maintain_order=True)
        .agg(pl.len().alias("stations"), *[pl.col(c).fill_null(0).sum() for c in sums])
        .sort("unit")
    )
    agg = agg.with_columns(_derived(choice_ids, aa, share_base))
    nat_frame = frame.select(
        pl.len().alias("stations"), *[pl.col(c).fill_null(0).sum() for c in sums]
    ).with_columns(pl.lit("total").alias("unit"))
    nat_frame = nat_frame.with_columns(_derived(choice_ids, aa, share_base))
    national = nat_frame.to_dicts()[0]
    outcome = None
    if rs is not None:
        votes = {c: int(national[c]) for c in choice_ids}
        outcome = decide(
            votes,
            rs,
            against_all=aa,
            cast=int(national["cast"]),
            registered=int(national["voters_on_list"]),
        )
    return Tabulation(
        level=lvl,
        base=share_base,
        choices=tuple(choice_ids),
        units=agg,
        national=national,
        outcome=outcome,
    )


def _derived(choice_ids: list[str], aa: str | None, base: Base) -> list[pl.Expr]:
    if base == "valid":
        denom = pl.sum_horizontal([pl.col(c) for c in choice_ids])
    elif base == "valid_excl_against_all":
        denom = pl.sum_horizontal([pl.col(c) for c in choice_ids if c != aa])
    else:
        denom = pl.col("cast")
    reg = pl.col("voters_on_list")
    out = [
        pl.when(reg > 0).then(pl.col("turnout_ballots") / reg).otherwise(None).alias("turnout"),
        pl.when(reg > 0).then(pl.col("cast") / reg).otherwise(None).alias("turnout_cast"),
    ]
    for c in choice_ids:
        if base == "valid_excl_against_all" and c == aa:
            out.append(pl.lit(None, dtype=pl.Float64).alias(f"share:{c}"))
        else:
            out.append(
                pl.when(denom > 0).then(pl.col(c) / denom).otherwise(None).alias(f"share:{c}")
            )
    return out


def decide(
    votes: dict[str, int],
    rules: RuleSet | str,
    *,
    against_all: str | None = None,
    cast: int | None = None,
    registered: int | None = None,
) -> Outcome:
    """Apply a rule set to national totals.

    Parameters
    ----------
    votes : dict
        Votes per choice id, Against all included where on the ballot.
    rules : RuleSet or str
    against_all : str, optional
        The id of the Against-all choice in ``votes``.
    cast : int, optional
        Ballots found (valid + invalid); default the sum of ``votes``.
    registered : int, optional
        Voters on the list; needed for a minimum-turnout rule.

    Examples
    --------
    >>> o = decide({"Putin": 49_565_238, "Kharitonov": 9_513_313, "Против всех": 2_396_219},
    ...            "ru-president-2004", against_all="Против всех", cast=69_581_761,
    ...            registered=108_064_281)
    >>> o.valid_election, o.winner
    (True, 'Putin')
    >>> decide({"A": 10, "against_all": 30}, "ru-president-2004", against_all="against_all",
    ...        registered=50).reasons[0][:40]
    'Against all got more votes than the lead'
    """
    rs = get_rules(rules) if isinstance(rules, str) else rules
    if not votes:
        raise SaylauInputError("no votes to decide on", field="votes")
    if against_all is None:
        from ..domain.choices import is_against_all

        against_all = next((k for k in votes if is_against_all(k)), None)
    cast_n = sum(votes.values()) if cast is None else cast
    reasons: list[str] = []
    notes: list[str] = []
    turnout = cast_n / registered if registered else float("nan")
    if rs.min_turnout is not None:
        if registered is None:
            notes.append("minimum turnout not checked: voters on the list unknown")
        elif Fraction(cast_n, max(registered, 1)) <= rs.min_turnout:
            reasons.append(
                f"turnout {turnout:.2%} is not above the minimum {float(rs.min_turnout):.0%} "
                f"({rs.source})"
            )
    contenders = {k: v for k, v in votes.items() if k != against_all}
    ranked = sorted(contenders, key=lambda k: -contenders[k])
    leader = ranked[0] if ranked else None
    if (
        rs.against_all == "fails_if_beats_leader"
        and against_all is not None
        and leader is not None
        and votes[against_all] > contenders[leader]
    ):
        reasons.append(
            f"Against all got more votes than the leader {leader} "
            f"({votes[against_all]:,} > {contenders[leader]:,}; {rs.source})"
        )
    winner: str | None = None
    runoff: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()
    seats: dict[str, int] | None = None
    if rs.decision in ("majority", "plurality") and leader is not None and not reasons:
        if rs.decision == "plurality":
            if len(ranked) > 1 and contenders[ranked[0]] == contenders[ranked[1]]:
                notes.append(f"tie between {ranked[0]} and {ranked[1]}: decided by the law's rule")
            winner = leader
        else:
            base = base_total(votes, against_all=against_all, cast=cast_n, base=rs.majority_base)
            if 2 * contenders[leader] > base:
                winner = leader
            else:
                runoff = tuple(ranked[:2])
                notes.append(
                    f"no candidate got more than half of {rs.majority_base} ballots: run-off"
                )
    elif rs.decision == "proportional" and not reasons:
        from .seats import allocate_by_rules

        alloc = allocate_by_rules(votes, rs, against_all=against_all, cast=cast_n)
        seats = {k: int(v) for k, v in alloc.seats.items()}
        passed = tuple(alloc.passed)
    return Outcome(
        rules=rs.name,
        valid_election=not reasons,
        reasons=tuple(reasons),
        winner=winner,
        runoff=runoff,
        passed=passed,
        seats=seats,
        turnout=turnout,
        notes=tuple(notes),
    )
