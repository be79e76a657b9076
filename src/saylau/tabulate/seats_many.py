"""Vectorised seat allocation for many simulated results at once (quick-count projections).

Split from :mod:`saylau.tabulate.seats`, whose exact :func:`~saylau.tabulate.seats.allocate` is
the reference this module is tested against.
"""

from __future__ import annotations

import operator
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from .._exceptions import EmptyInputError, SaylauInputError, SaylauWarning
from .seats import (
    _LARGEST_REMAINDER,
    check_options,
)

__all__ = ["allocate_many"]


def _row_ranks(key: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Position of every column when each row is sorted by ``key`` descending (stable)."""
    order = np.argsort(-key, axis=1, kind="stable")
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(key.shape[1])[None, :].repeat(key.shape[0], 0), 1)
    return pos.astype(np.int64)


def allocate_many(
    vote_matrix: npt.ArrayLike,
    *,
    seats: int,
    method: str = "hare",
    threshold: Fraction | float | str | None = None,
    threshold_base: str = "valid",
    inclusive_threshold: bool = True,
    against_all_index: int | None = None,
    cast: npt.ArrayLike | None = None,
    min_parties: int = 1,
) -> npt.NDArray[np.int64]:
    """Allocate seats for many simulated results at once (quick-count seat projections).

    Parameters
    ----------
    vote_matrix : array_like, shape (draws, parties) or (parties,)
        Votes (integers) or vote shares/estimates (floats) per draw and choice.
    seats, method, threshold, threshold_base, inclusive_threshold, min_parties
        As in :func:`allocate`.
    against_all_index : int, optional
        Column of the Against-all line: in the base where the base says so, never a seat.
    cast : array_like, optional
        Ballots cast per draw (or one number), for ``threshold_base="cast"``.

    Returns
    -------
    numpy.ndarray of int64, same shape as ``vote_matrix``
        Seats; a draw where no party passes gets no seats (and a :class:`SaylauWarning`).

    Notes
    -----
    Integer input is handled with integer arithmetic for the threshold and largest remainders,
    and correctly rounded float quotients for divisor methods (exact as long as votes × largest
    divisor stays below about 10**15), so it agrees with :func:`allocate` with ties broken by
    column order. Float input (estimated shares) uses floating point throughout: results at an
    exact boundary may then differ from the exact rule, which does not matter for simulated
    shares; for float input the Droop quota is the next float above ``V/(S+1)``.

    References
    ----------
    .. [1] Pukelsheim, F. (2017). *Proportional Representation*, 2nd ed., ch. 3-4 (divisor
       methods computed by a jump-and-step procedure from a starting divisor). Springer.

    Examples
    --------
    >>> allocate_many([[60, 30, 10], [50, 50, 0]], seats=6, method="dhondt").tolist()
    [[4, 2, 0], [3, 3, 0]]
    """
    arr = np.asarray(vote_matrix)
    squeeze = arr.ndim == 1
    if squeeze:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise SaylauInputError(
            "vote matrix must be 2-D (draws x parties)", field="vote_matrix", found=arr.shape
        )
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise SaylauInputError(
            "vote matrix must hold numbers", field="vote_matrix", found=str(arr.dtype)
        )
    is_int = np.issubdtype(arr.dtype, np.integer)
    work: npt.NDArray[Any] = arr.astype(np.int64 if is_int else np.float64)
    if not is_int and not np.all(np.isfinite(work)):
        raise SaylauInputError("vote matrix has NaN or infinite values", field="vote_matrix")
    if np.any(work < 0):
        raise SaylauInputError(
            "vote matrix has negative values", field="vote_matrix", expected=">= 0"
        )
    house, canonical, t = check_options(seats, method, threshold, threshold_base)
    n_draws, n_cols = work.shape
    party = np.ones(n_cols, dtype=bool)
    if against_all_index is not None:
        party[operator.index(against_all_index)] = False
    if not party.any():
        raise EmptyInputError("no party column besides Against all", field="vote_matrix")
    if threshold_base == "valid":
        base = work.sum(axis=1)
    elif threshold_base == "valid_excl_against_all":
        base = work[:, party].sum(axis=1)
    else:
        if cast is None:
            raise SaylauInputError(
                "threshold base 'cast' needs the ballots cast", field="cast", found=None
            )
        base = np.broadcast_to(np.asarray(cast, dtype=work.dtype), (n_draws,))
    pv = np.where(party[None, :], work, 0)
    passed = pv > 0
    if t is not None:
        if (
            is_int
            and int(work.max(initial=0)) * t.denominator < 2**62
            and (int(base.max(initial=0)) * t.numerator < 2**62)
        ):
            lhs = pv * t.denominator
            rhs = (base * t.numerator)[:, None]
        else:
            lhs = pv.astype(np.float64)
            rhs = (base.astype(np.float64) * float(t))[:, None]
        passed &= (lhs >= rhs) if inclusive_threshold else (lhs > rhs)
    if min_parties > 1:
        n_now = passed.sum(axis=1)
        few = (n_now > 0) & (n_now < min_parties)
        top = (_row_ranks(pv) < min_parties) & (pv > 0)
        passed = np.where(few[:, None], passed | top, passed)
    pv = np.where(passed, pv, 0)
    n_pass = passed.sum(axis=1)
    empty = n_pass == 0
    if empty.any():
        warnings.warn(
            f"no party passed the threshold in {int(empty.sum())} of {n_draws} draws; "
            "those draws get no seats",
            SaylauWarning,
            stacklevel=2,
        )
    total = pv.sum(axis=1)
    safe_total = np.where(total > 0, total, 1)
    out: npt.NDArray[np.int64]
    if canonical in _LARGEST_REMAINDER:
        if canonical == "hare":
            if is_int:
                scaled = pv * house
                full = scaled // safe_total[:, None]
                rest = (scaled % safe_total[:, None]).astype(np.float64)
            else:
                quotas = pv * house / safe_total[:, None]
                full = np.floor(quotas)
                rest = quotas - full
        elif is_int:
            q = safe_total // (house + 1) + 1
            full = pv // q[:, None]
            rest = (pv - full * q[:, None]).astype(np.float64)
        else:
            q = np.nextafter(safe_total / (house + 1), np.inf)
            full = np.floor(pv / q[:, None])
            rest = pv - full * q[:, None]
        full = full.astype(np.int64)
        extra = house - full.sum(axis=1)
        safe_n = np.maximum(n_pass, 1)
        rounds, extra = np.divmod(extra, safe_n)
        full += rounds[:, None] * passed
        rest = np.where(passed, rest, -1.0)
        out = full + ((_row_ranks(rest) < extra[:, None]) & passed)
    else:
        out = _divisor_many(pv.astype(np.float64), passed, n_pass, house, canonical)
    out = np.where(empty[:, None], 0, out).astype(np.int64)
    return out[0] if squeeze else out


def _divisor_many(
    pv: npt.NDArray[np.float64],
    passed: npt.NDArray[np.bool_],
    n_pass: npt.NDArray[np.int64],
    house: int,
    method: str,
) -> npt.NDArray[np.int64]:
    """Divisor methods, vectorised: a safe start below the answer, then greedy seats."""
    total = pv.sum(axis=1)
    spare = house - n_pass
    start = np.zeros(pv.shape, dtype=np.int64)
    ok = (spare > 0) & (total > 0)
    if ok.any():
        # With lam = V/(S-n) (D'Hondt) or V/(2(S-n)) (Sainte-Lague), the seats of the divisor
        # rule at lam sum to at most S, so they lie below the answer; one more seat is taken
        # off each party to absorb rounding in x.
        factor = 1.0 if method == "dhondt" else 2.0
        lam = np.where(ok, total / np.maximum(factor * spare, 1), np.inf)
        x = pv / lam[:, None]
        count = np.ceil(x) - 1 if method == "dhondt" else np.ceil((x - 1) / 2)
        start = np.maximum(count - 1, 0).astype(np.int64) * passed
    left = house - start.sum(axis=1)
    left = np.where(n_pass > 0, left, 0)
    rows = np.arange(pv.shape[0])
    # integer-valued divisors (modified Sainte-Lague scaled by 5) keep quotients correctly rounded
    while left.max(initial=0) > 0:
        active = left > 0
        if method == "dhondt":
            d = start + 1
        elif method == "sainte-lague":
            d = 2 * start + 1
        else:
            d = np.where(start == 0, 7, 10 * start + 5)
        quot = np.where(passed, pv / d, -np.inf)
        j = np.argmax(quot, axis=1)
        start[rows[active], j[active]] += 1
        left = left - active
    return start
