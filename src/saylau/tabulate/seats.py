"""Seat allocation for party lists: largest remainders (Hare, Droop) and divisor methods.

:func:`allocate` distributes a house of seats among party lists with exact rational arithmetic
(:class:`fractions.Fraction`) wherever a comparison decides something: the threshold, the quota,
the remainders and the divisor quotients. A party at *exactly* the threshold passes where the
law says "not less than" (``inclusive_threshold=True``). Ties that decide a seat are broken by a
declared rule (by default the list registered earlier, i.e. listed earlier) and reported.

The Against-all line is a first-class choice: it is counted in the threshold base where the base
says so (``threshold_base="valid"``, Kazakhstan 2023) and it never wins a seat.

:func:`allocate_by_rules` applies a named :class:`~saylau.tabulate.rules.RuleSet`
(``"kz-mazhilis-2023"`` ...). :func:`allocate_many` is a vectorised version for simulations
(quick-count seat projections), exact for integer counts.

Methods
-------
``"hare"``
    Largest remainder with the Hare quota ``V / S`` (``V``: votes of the parties admitted to the
    allocation, ``S``: seats); Hamilton's method. Kazakhstan's Mazhilis, Russia's State Duma.
``"droop"``
    Largest remainder with the Droop quota ``floor(V / (S + 1)) + 1``.
``"dhondt"``
    Divisors 1, 2, 3, ... (Jefferson).
``"sainte-lague"``
    Divisors 1, 3, 5, ... (Webster).
``"modified-sainte-lague"``
    Divisors 1.4, 3, 5, ... (Norway; Sweden before 2018).

References
----------
.. [1] Balinski, M. L. and Young, H. P. (2001). *Fair Representation: Meeting the Ideal of One
   Man, One Vote*, 2nd ed. Brookings Institution Press.
.. [2] Pukelsheim, F. (2017). *Proportional Representation: Apportionment Methods and Their
   Applications*, 2nd ed. Springer. doi:10.1007/978-3-319-64707-4
.. [3] Constitutional Law of the Republic of Kazakhstan "On elections" (1995), art. 97-1; IPU
   PARLINE, Kazakhstan Mazhilis electoral system (ties: the list registered earlier; if only one
   party passes, the runner-up is admitted).

Examples
--------
Kazakhstan's Mazhilis election of 19 March 2023 (CEC figures; Against all in the 5% base):

>>> votes = {"Amanat": 3431510, "Auyl": 693938, "Respublica": 547154, "Ak Zhol": 535139,
...          "People's Party": 432920, "OSDP": 331058, "Baytaq": 146431,
...          "Против всех": 248291}
>>> result = allocate(votes, seats=69, threshold="5%")
>>> result.seats
{'Amanat': 40, 'Auyl': 8, 'Respublica': 6, 'Ak Zhol': 6, "People's Party": 5, 'OSDP': 4, \
'Baytaq': 0, 'Против всех': 0}
>>> result.quota == Fraction(5971719, 69)
True
>>> allocate({"A": 60, "B": 30, "C": 10}, seats=6, method="dhondt").seats
{'A': 4, 'B': 2, 'C': 0}
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import operator
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .._exceptions import (
    DataFormatError,
    EmptyInputError,
    SaylauInputError,
    SaylauWarning,
    UnknownNameError,
)
from ..domain.choices import is_against_all
from ..domain.rules import RuleSet, get_rules
from ..results import Result

__all__ = [
    "BASES",
    "METHODS",
    "TIE_RULES",
    "SeatAllocation",
    "allocate",
    "allocate_by_rules",
    "normalize_method",
    "parse_threshold",
]

#: Canonical method names.
METHODS: tuple[str, ...] = ("hare", "droop", "dhondt", "sainte-lague", "modified-sainte-lague")
#: Threshold bases (see :mod:`saylau.tabulate.rules`).
BASES: tuple[str, ...] = ("valid", "valid_excl_against_all", "cast")
#: Declared tie-break rules.
TIE_RULES: tuple[str, ...] = ("registration_order", "more_votes", "lot")

_LARGEST_REMAINDER = frozenset({"hare", "droop"})

_ALIAS_TEXT = {
    "hare": "hare hare-quota hare-niemeyer hamilton largest-remainder largest-remainders "
    "largest-remainder-hare lr lr-hare hare-lr lrm",
    "droop": "droop droop-quota largest-remainder-droop lr-droop droop-lr",
    "dhondt": "dhondt d-hondt hondt jefferson highest-averages",
    "sainte-lague": "sainte-lague saint-lague webster schepers sainte-lague-schepers",
    "modified-sainte-lague": "modified-sainte-lague modified-saint-lague "
    "sainte-lague-modified modified-webster msl",
}
_ALIASES = {alias: name for name, text in _ALIAS_TEXT.items() for alias in text.split()}


def normalize_method(name: str) -> str:
    """The canonical name of a seat method, accepting common spellings and aliases.

    Parameters
    ----------
    name : str
        E.g. ``"D'Hondt"``, ``"Sainte-Laguë"``, ``"largest_remainder_hare"``.

    Returns
    -------
    str
        One of :data:`METHODS`.

    Raises
    ------
    UnknownNameError
        For a name that is none of them.

    Examples
    --------
    >>> normalize_method("D’Hondt"), normalize_method("Sainte-Laguë"), normalize_method("LR_Hare")
    ('dhondt', 'sainte-lague', 'hare')
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()
    for quote in ("'", "’", "`", "ʼ", '"'):
        text = text.replace(quote, "")
    for sep in ("_", " ", "–", "—", "/"):
        text = text.replace(sep, "-")
    while "--" in text:
        text = text.replace("--", "-")
    try:
        return _ALIASES[text]
    except KeyError:
        raise UnknownNameError(
            "unknown seat method", field="method", expected=" | ".join(METHODS), found=name
        ) from None


def parse_threshold(value: Fraction | float | str | Decimal | None) -> Fraction | None:
    """Read a threshold given as a fraction, a float or a string such as ``"5%"``.

    Floats are read through their shortest decimal representation, so ``0.05`` is exactly
    ``1/20``. A number above 1 without a per-cent sign is refused rather than guessed.

    Examples
    --------
    >>> parse_threshold("5%"), parse_threshold(0.07), parse_threshold("0,5 %")
    (Fraction(1, 20), Fraction(7, 100), Fraction(1, 200))
    >>> parse_threshold(None) is None
    True
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise SaylauInputError(
            "threshold must be a number", field="threshold", expected="e.g. 5% or 0.05", found=value
        )
    try:
        if isinstance(value, Fraction):
            result = value
        elif isinstance(value, int | Decimal):
            result = Fraction(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(value)
            result = Fraction(repr(value))
        elif isinstance(value, str):
            text = value.strip().replace(",", ".").replace(" ", "")
            pct = text.endswith("%")
            result = Fraction(text[:-1]) / 100 if pct else Fraction(text)
        else:
            result = Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise SaylauInputError(
            "cannot read the threshold",
            field="threshold",
            expected="a share such as 5% or 0.05",
            found=value,
        ) from None
    if result < 0 or result > 1:
        hint = f" (for {value} per cent write {value}%)" if result > 1 else ""
        raise SaylauInputError(
            "threshold must be between 0 and 100%" + hint,
            field="threshold",
            expected="a share in [0, 1] or a percentage",
            found=value,
        )
    return result


@dataclasses.dataclass(frozen=True)
class SeatAllocation(Result):
    """The seats of one allocation, with everything needed to check it by hand.

    Parameters
    ----------
    seats : dict of str to int
        Seats per choice, in input order; the Against-all line is included with 0.
    passed : list of str
        Choices admitted to the allocation (over the threshold, or admitted by a minimum-number-
        of-parties rule), in input order.
    quota : Fraction or None
        Largest remainder: the quota (Hare ``V/S`` or Droop). Divisor methods: the last
        quotient that won a seat (votes ÷ divisor), the price of the last seat.
    ties : list of str
        Every tie that decided a seat, with the rule that broke it.
    method : str
        Canonical method name (one of :data:`METHODS`).
    house_size : int
        Seats allocated.
    threshold : Fraction or None
        Threshold as an exact share of ``base_votes``.
    threshold_base : str
        ``"valid"``, ``"valid_excl_against_all"`` or ``"cast"``.
    inclusive_threshold : bool
        Whether a party exactly at the threshold passes ("not less than").
    base_votes : int
        Votes in the threshold base.
    shares : dict of str to Fraction
        Each choice's votes ÷ ``base_votes`` (Against all included).
    quotients : dict of str to Fraction
        Passing parties' votes ÷ ``quota``: their exact entitlement in seats (largest remainder).
    admitted : list of str
        Parties below the threshold admitted by the minimum-number-of-parties rule.
    votes : dict of str to int
        The input counts.
    against_all : str or None
        Key of the Against-all line, if any.
    tie_break : str
        Declared tie rule (one of :data:`TIE_RULES`).
    tie_order : list of str
        Registration order used to break ties (earlier wins).
    cast : int or None
        Ballots cast (valid + invalid), when given.

    Examples
    --------
    >>> r = allocate({"A": 47_000, "B": 16_000, "C": 15_800, "D": 12_000}, seats=10)
    >>> r.seats, r.quota, r.quotients["A"]
    ({'A': 5, 'B': 2, 'C': 2, 'D': 1}, Fraction(9080, 1), Fraction(1175, 227))
    >>> r.to_dict()["quota"]
    9080.0
    """

    seats: dict[str, int]
    passed: list[str]
    quota: Fraction | None
    ties: list[str]
    method: str
    house_size: int
    threshold: Fraction | None
    threshold_base: str
    inclusive_threshold: bool
    base_votes: int
    shares: dict[str, Fraction]
    quotients: dict[str, Fraction]
    admitted: list[str]
    votes: dict[str, int]
    against_all: str | None
    tie_break: str
    tie_order: list[str]
    cast: int | None = None


# --------------------------------------------------------------------------- input checking


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise DataFormatError(
            "vote count is not a number", field=key, expected="integer >= 0", found=value
        )
    try:
        number = operator.index(value)
    except TypeError:
        if isinstance(value, numbers.Real) and float(value).is_integer():
            number = int(float(value))
        else:
            raise DataFormatError(
                "vote count is not an integer", field=key, expected="integer >= 0", found=value
            ) from None
    if number < 0:
        raise DataFormatError(
            "vote count is negative", field=key, expected="integer >= 0", found=value
        )
    return number


def _check_votes(votes: Mapping[str, Any]) -> dict[str, int]:
    if not isinstance(votes, Mapping):
        raise SaylauInputError(
            "votes must be a mapping choice -> count",
            field="votes",
            expected="dict",
            found=type(votes).__name__,
        )
    if not votes:
        raise EmptyInputError("no choices to allocate seats to", field="votes")
    out: dict[str, int] = {}
    for key, value in votes.items():
        if not isinstance(key, str) or not key.strip():
            raise DataFormatError(
                "choice name must be a non-empty string", field="choice", found=repr(key)
            )
        out[key] = _count(value, key)
    return out


def _find_against_all(keys: Sequence[str], against_all: str | None) -> str | None:
    if against_all is not None:
        if against_all not in keys:
            raise UnknownNameError(
                "the Against-all choice is not among the votes",
                field="against_all",
                expected=" | ".join(keys),
                found=against_all,
            )
        lookalikes = [k for k in keys if k != against_all and is_against_all(k)]
        if lookalikes:
            warnings.warn(
                f"{', '.join(lookalikes)} looks like Against all but against_all={against_all!r} "
                "was given: it is treated as a party",
                SaylauWarning,
                stacklevel=3,
            )
        return against_all
    found = [k for k in keys if is_against_all(k)]
    if len(found) > 1:
        raise SaylauInputError(
            "several choices mean Against all",
            field="against_all",
            expected="at most one",
            found=", ".join(found),
        )
    return found[0] if found else None


def _ranks(parties: Sequence[str], tie_order: Sequence[str] | None) -> dict[str, int]:
    """Registration rank of every party: tie_order first, the others in input order."""
    order: list[str] = []
    if tie_order is not None:
        if isinstance(tie_order, str):
            raise SaylauInputError(
                "tie_order must be a sequence of choice names", field="tie_order", found=tie_order
            )
        known = set(parties)
        for name in tie_order:
            if name not in known:
                raise UnknownNameError(
                    "tie_order names an unknown party",
                    field="tie_order",
                    expected=" | ".join(parties),
                    found=name,
                )
            if name in order:
                raise SaylauInputError(
                    "tie_order names a party twice", field="tie_order", found=name
                )
            order.append(name)
    order.extend(p for p in parties if p not in order)
    return {p: i for i, p in enumerate(order)}


def _check_seats(seats: Any) -> int:
    try:
        n = operator.index(seats)
    except TypeError:
        raise SaylauInputError(
            "number of seats must be an integer",
            field="seats",
            expected="integer >= 1",
            found=seats,
        ) from None
    if n < 1:
        raise SaylauInputError(
            "number of seats must be positive", field="seats", expected="integer >= 1", found=seats
        )
    return n


# --------------------------------------------------------------------------- exact methods


def check_options(
    seats: Any, method: str, threshold: Fraction | float | str | Decimal | None, base: str
) -> tuple[int, str, Fraction | None]:
    """Validate the options shared by :func:`allocate` and ``allocate_many``.

    Returns the house size, the canonical method name and the threshold as a fraction.
    """
    house = _check_seats(seats)
    canonical = normalize_method(method)
    t = parse_threshold(threshold)
    if base not in BASES:
        raise UnknownNameError(
            "unknown threshold base", field="threshold_base", expected=" | ".join(BASES), found=base
        )
    return house, canonical, t


def _divisor(method: str, k: int) -> Fraction:
    """The divisor for a party's (k+1)-th seat."""
    if method == "dhondt":
        return Fraction(k + 1)
    if method == "modified-sainte-lague" and k == 0:
        return Fraction(7, 5)
    return Fraction(2 * k + 1)


def _describe_tie(
    kind: str, group: list[str], winners: list[str], value: Fraction, rule: str
) -> str:
    won = ", ".join(winners) if winners else "nobody"
    return (
        f"{kind} tie at {value} ({float(value):.6g}) between {', '.join(group)} for "
        f"{len(winners)} seat(s): broken by {rule.replace('_', ' ')} in favour of {won}"
    )


def _largest_remainder(
    pv: dict[str, int],
    seats: int,
    method: str,
    key: Callable[[str], tuple[int, ...]],
    rule: str,
) -> tuple[dict[str, int], Fraction, list[str], dict[str, Fraction]]:
    total = sum(pv.values())
    quota = Fraction(total, seats) if method == "hare" else Fraction(total // (seats + 1) + 1)
    full = {p: int(v // quota) for p, v in pv.items()}
    rest = {p: v - full[p] * quota for p, v in pv.items()}
    extra = seats - sum(full.values())
    rounds, extra = divmod(extra, len(pv))
    if rounds:
        warnings.warn(
            f"the {method} quota {quota} left more seats than parties ({len(pv)}) after full "
            "quotas: too few votes for the house; every admitted party got "
            f"{rounds} more seat(s) before the remainders were ranked",
            SaylauWarning,
            stacklevel=3,
        )
        for p in full:
            full[p] += rounds
    order = sorted(pv, key=lambda p: (-rest[p], *key(p)))
    ties: list[str] = []
    if 0 < extra < len(order) and rest[order[extra - 1]] == rest[order[extra]]:
        cut = rest[order[extra]]
        group = [p for p in order if rest[p] == cut]
        winners = [p for p in group if order.index(p) < extra]
        ties.append(_describe_tie("remainder", group, winners, cut, rule))
    for p in order[:extra]:
        full[p] += 1
    quotients = {p: v / quota for p, v in pv.items()}
    return full, quota, ties, quotients


def _highest_averages(
    pv: dict[str, int],
    seats: int,
    method: str,
    key: Callable[[str], tuple[int, ...]],
    rule: str,
) -> tuple[dict[str, int], Fraction, list[str], dict[str, Fraction]]:
    entries: list[tuple[Fraction, str]] = []
    for p, v in pv.items():
        # a party never needs more quotients than seats
        entries.extend((v / _divisor(method, k), p) for k in range(seats))
    entries.sort(key=lambda e: (-e[0], *key(e[1])))
    won = entries[:seats]
    out = dict.fromkeys(pv, 0)
    for _, p in won:
        out[p] += 1
    last = won[-1][0]
    ties: list[str] = []
    if len(entries) > seats and entries[seats][0] == last:
        group = [p for q, p in entries if q == last]
        winners = [p for q, p in won if q == last]
        ties.append(_describe_tie("quotient", group, winners, last, rule))
    quotients = {p: Fraction(v) / last for p, v in pv.items()}
    return out, last, ties, quotients


# --------------------------------------------------------------------------- public API


def allocate(
    votes: Mapping[str, int],
    *,
    seats: int,
    method: str = "hare",
    threshold: Fraction | float | str | None = None,
    threshold_base: str = "valid",
    inclusive_threshold: bool = True,
    against_all: str | None = None,
    tie_order: Sequence[str] | None = None,
    cast: int | None = None,
    tie_break: str = "registration_order",
    min_parties: int = 1,
) -> SeatAllocation:
    """Allocate a house of seats among party lists, exactly.

    Parameters
    ----------
    votes : mapping of str to int
        Votes per choice, the Against-all line included if the ballot had one. Input order is
        the default registration order for ties.
    seats : int
        House (list-tier) size.
    method : str
        ``"hare"``, ``"droop"``, ``"dhondt"``, ``"sainte-lague"`` or
        ``"modified-sainte-lague"`` (aliases such as ``"d'hondt"``, ``"webster"``,
        ``"largest-remainder-hare"`` accepted).
    threshold : Fraction, float, str or None
        Minimum share of ``threshold_base`` to take part: ``Fraction(1, 20)``, ``0.05`` or
        ``"5%"``. ``None``: every party with at least one vote takes part.
    threshold_base : {"valid", "valid_excl_against_all", "cast"}
        ``"valid"``: all votes in ``votes``, Against all included; ``"valid_excl_against_all"``:
        votes for parties only; ``"cast"``: the ``cast`` argument (valid + invalid ballots).
    inclusive_threshold : bool
        ``True``: "not less than" (a party exactly at the threshold passes); ``False``: "more
        than".
    against_all : str, optional
        Key of the Against-all line; by default detected by name
        (:func:`saylau.domain.choices.is_against_all`). It never wins a seat.
    tie_order : sequence of str, optional
        Registration order (earlier wins a tie); parties left out follow in input order.
    cast : int, optional
        Ballots cast, needed for ``threshold_base="cast"``.
    tie_break : {"registration_order", "more_votes", "lot"}
        ``"more_votes"``: more votes first, then registration order. ``"lot"`` cannot be drawn
        by software: the tie is broken by registration order, reported and warned about.
    min_parties : int
        Admit the best-placed parties below the threshold until at least this many take part
        (Kazakhstan 2009-2022: 2).

    Returns
    -------
    SeatAllocation

    Raises
    ------
    SaylauInputError
        Bad counts, unknown method or names, a ``cast`` below the valid votes, or no party
        passing the threshold.

    Warns
    -----
    SaylauWarning
        When a tie decided a seat, or the Droop quota leaves more seats than parties.

    Notes
    -----
    Largest remainder: quota ``q`` from the votes ``V`` of the admitted parties only (Hare
    ``V/S``; Droop ``floor(V/(S+1)) + 1``); each party gets ``floor(v/q)`` seats and the
    seats left go to the largest remainders ``v - q floor(v/q)``. Divisor methods: the ``S``
    largest quotients ``v / d_k`` win, ``d_k`` = ``k+1`` (D'Hondt), ``2k+1`` (Sainte-Laguë),
    ``1.4, 3, 5, ...`` (modified). Every comparison is between exact fractions.

    References
    ----------
    .. [1] Balinski, M. L. and Young, H. P. (2001). *Fair Representation*, 2nd ed. Brookings.
    .. [2] Pukelsheim, F. (2017). *Proportional Representation*, 2nd ed. Springer.

    Examples
    --------
    A party exactly at a 5% threshold passes under "not less than" and fails under "more than":

    >>> votes = {"A": 650, "B": 300, "C": 50}
    >>> allocate(votes, seats=20, threshold="5%").seats
    {'A': 13, 'B': 6, 'C': 1}
    >>> allocate(votes, seats=20, threshold="5%", inclusive_threshold=False).seats
    {'A': 14, 'B': 6, 'C': 0}
    """
    counts = _check_votes(votes)
    house, canonical, t = check_options(seats, method, threshold, threshold_base)
    if tie_break not in TIE_RULES:
        raise UnknownNameError(
            "unknown tie-break rule",
            field="tie_break",
            expected=" | ".join(TIE_RULES),
            found=tie_break,
        )
    min_n = operator.index(min_parties)
    keys = list(counts)
    aa = _find_against_all(keys, against_all)
    parties = [k for k in keys if k != aa]
    if not parties:
        raise EmptyInputError("no party to allocate seats to (only Against all)", field="votes")
    ranks = _ranks(parties, tie_order)
    valid = sum(counts.values())
    if threshold_base == "valid":
        base = valid
    elif threshold_base == "valid_excl_against_all":
        base = valid - (counts[aa] if aa is not None else 0)
    else:
        if cast is None:
            raise SaylauInputError(
                "threshold base 'cast' needs the number of ballots cast",
                field="cast",
                expected="valid + invalid ballots",
                found=None,
            )
        base = _count(cast, "cast")
        if base < valid:
            raise SaylauInputError(
                "ballots cast are fewer than the valid votes",
                field="cast",
                expected=f">= {valid}",
                found=base,
            )
    cast_n = None if cast is None else _count(cast, "cast")

    def passes(v: int) -> bool:
        if v <= 0:
            return False
        if t is None:
            return True
        bar = t * base
        return v >= bar if inclusive_threshold else v > bar

    passing = {p for p in parties if passes(counts[p])}
    admitted: list[str] = []
    ties: list[str] = []
    rule = "registration_order" if tie_break == "lot" else tie_break

    def key(p: str) -> tuple[int, ...]:
        if rule == "more_votes":
            return (-counts[p], ranks[p])
        return (ranks[p],)

    if 0 < len(passing) < min_n:
        below = sorted(
            (p for p in parties if p not in passing and counts[p] > 0),
            key=lambda p: (-counts[p], ranks[p]),
        )
        need = min_n - len(passing)
        chosen = below[:need]
        if len(below) > need > 0 and counts[below[need - 1]] == counts[below[need]]:
            cut = counts[below[need]]
            group = [p for p in below if counts[p] == cut]
            ties.append(
                _describe_tie(
                    "vote",
                    group,
                    [p for p in group if p in chosen],
                    Fraction(cut),
                    "registration_order",
                )
            )
        admitted = [p for p in parties if p in chosen]
        passing.update(chosen)
    if not passing:
        best = max(parties, key=lambda p: counts[p])
        share = Fraction(counts[best], base) if base else Fraction(0)
        raise SaylauInputError(
            "no party passed the threshold, no seat can be allocated",
            field="threshold",
            expected=f"at least one party with {'>=' if inclusive_threshold else '>'} "
            f"{'0 votes' if t is None else f'{float(t):.4%} of {base}'}",
            found=f"best {best} with {counts[best]} ({float(share):.4%})",
        )
    passed = [p for p in parties if p in passing]
    pv = {p: counts[p] for p in sorted(passed, key=lambda p: ranks[p])}
    if canonical in _LARGEST_REMAINDER:
        won, quota, more_ties, quotients = _largest_remainder(pv, house, canonical, key, rule)
    else:
        won, quota, more_ties, quotients = _highest_averages(pv, house, canonical, key, rule)
    ties.extend(more_ties)
    if more_ties:
        note = " (the law asks for a lot: draw it)" if tie_break == "lot" else ""
        warnings.warn(f"a tie decided a seat: {more_ties[0]}{note}", SaylauWarning, stacklevel=2)
    shares = {k: (Fraction(v, base) if base else Fraction(0)) for k, v in counts.items()}
    return SeatAllocation(
        seats={k: won.get(k, 0) for k in keys},
        passed=passed,
        quota=quota,
        ties=ties,
        method=canonical,
        house_size=house,
        threshold=t,
        threshold_base=threshold_base,
        inclusive_threshold=inclusive_threshold,
        base_votes=base,
        shares=shares,
        quotients={p: quotients[p] for p in passed},
        admitted=admitted,
        votes=counts,
        against_all=aa,
        tie_break=tie_break,
        tie_order=sorted(parties, key=lambda p: ranks[p]),
        cast=cast_n,
    )


def allocate_by_rules(
    votes: Mapping[str, int],
    rules: RuleSet | str,
    *,
    against_all: str | None = None,
    cast: int | None = None,
    tie_order: Sequence[str] | None = None,
) -> SeatAllocation:
    """Allocate seats under a named rule set (house size, threshold and base, method, ties).

    Parameters
    ----------
    votes : mapping of str to int
        Votes per choice, Against all included where the ballot had it.
    rules : RuleSet or str
        A proportional rule set, e.g. ``"kz-mazhilis-2023"``.
    against_all, cast, tie_order
        As in :func:`allocate`.

    Returns
    -------
    SeatAllocation

    References
    ----------
    .. [1] Constitutional Law of the Republic of Kazakhstan "On elections" (1995), art. 97-1.
    .. [2] Inter-Parliamentary Union, PARLINE database: Kazakhstan, Mazhilis, electoral system.

    Examples
    --------
    Kazakhstan 2021 (CEC figures, 98 seats, 7%):

    >>> votes = {"Nur Otan": 5148074, "Ak Zhol": 792828, "People's Party": 659019,
    ...          "Auyl": 383023, "Adal": 258618}
    >>> allocate_by_rules(votes, "kz-mazhilis-2012").seats
    {'Nur Otan': 76, 'Ak Zhol': 12, "People's Party": 10, 'Auyl': 0, 'Adal': 0}
    """
    rs = get_rules(rules) if isinstance(rules, str) else rules
    if rs.decision != "proportional" or rs.seats is None:
        raise SaylauInputError(
            "rule set does not allocate seats proportionally",
            field="rules",
            expected="a proportional rule set with a house size",
            found=rs.name,
        )
    counts = _check_votes(votes)
    aa = _find_against_all(list(counts), against_all)
    if aa is not None and rs.against_all == "absent" and counts[aa] > 0:
        warnings.warn(
            f"rule set {rs.name} has no Against-all line but the votes have one ({aa}); it is "
            f"counted in the '{rs.threshold_base}' base as given and wins nothing",
            SaylauWarning,
            stacklevel=2,
        )
    min_parties = rs.min_parties
    return allocate(
        counts,
        seats=rs.seats,
        method=rs.seat_method,
        threshold=rs.threshold,
        threshold_base=rs.threshold_base,
        inclusive_threshold=rs.inclusive_threshold,
        against_all=aa,
        tie_order=tie_order,
        cast=cast,
        tie_break=rs.tie_break,
        min_parties=min_parties,
    )
