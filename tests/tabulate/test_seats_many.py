"""The vectorised :func:`allocate_many` agrees with the exact :func:`allocate` (the reference).

Small random counts make ties frequent, which checks that both break them by column order.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from saylau._exceptions import SaylauInputError, SaylauWarning
from saylau.tabulate.seats import METHODS, allocate
from saylau.tabulate.seats_many import allocate_many


def _reference(
    row: np.ndarray, seats: int, method: str, aa: int | None, **kw: object
) -> list[int] | None:
    votes = {("against_all" if i == aa else f"P{i}"): int(v) for i, v in enumerate(row)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SaylauWarning)
            result = allocate(votes, seats=seats, method=method, **kw)  # type: ignore[arg-type]
    except SaylauInputError:
        return None
    return list(result.seats.values())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("scale", "threshold", "base", "aa", "min_parties"),
    [
        (30, None, "valid", None, 1),  # tiny counts: many ties
        (10_000, Fraction(1, 20), "valid", 0, 1),
        (1_000_000, "7%", "valid", None, 2),
        (500, "5%", "valid_excl_against_all", 3, 1),
        (2_000, "3%", "cast", None, 1),
    ],
)
def test_agrees_with_exact_allocate(
    method: str, scale: int, threshold: object, base: str, aa: int | None, min_parties: int
) -> None:
    rng = np.random.default_rng([METHODS.index(method), scale])
    draws, parties = 150, 6
    shares = rng.dirichlet(np.full(parties, 0.8), size=draws)
    matrix = np.array([rng.multinomial(scale, p) for p in shares], dtype=np.int64)
    cast = matrix.sum(axis=1) + rng.integers(0, scale // 10 + 1, size=draws)
    seats = int(rng.integers(1, 60))
    kw: dict[str, Any] = {
        "threshold": threshold,
        "threshold_base": base,
        "min_parties": min_parties,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaylauWarning)
        fast = allocate_many(
            matrix, seats=seats, method=method, against_all_index=aa, cast=cast, **kw
        )
    assert fast.shape == matrix.shape and fast.dtype == np.int64
    for i in range(draws):
        exact = _reference(
            matrix[i], seats, method, aa, cast=int(cast[i]) if base == "cast" else None, **kw
        )
        if exact is None:
            assert fast[i].sum() == 0  # nobody passes: no seats in that draw
        else:
            assert fast[i].tolist() == exact, (matrix[i], seats, method)


@pytest.mark.parametrize("method", METHODS)
def test_float_shares_match_counts_away_from_ties(method: str) -> None:
    rng = np.random.default_rng(7)
    counts = rng.multinomial(5_000_000, [0.45, 0.25, 0.15, 0.1, 0.05], size=200)
    shares = counts / counts.sum(axis=1, keepdims=True)
    a = allocate_many(counts, seats=98, method=method, threshold="7%")
    b = allocate_many(shares, seats=98, method=method, threshold="7%")
    assert (a.sum(axis=1) == 98).all()
    # rounding of shares could only move a seat when two remainders/quotients are within 1e-12;
    # none are in these 200 draws
    np.testing.assert_array_equal(a, b)


def test_one_draw_and_bad_input() -> None:
    assert allocate_many([60, 30, 10], seats=6, method="dhondt").tolist() == [4, 2, 0]
    with pytest.raises(SaylauInputError):
        allocate_many([[1, -2]], seats=3)
    with pytest.raises(SaylauInputError):
        allocate_many([[1.0, float("nan")]], seats=3)
    with pytest.raises(SaylauInputError):
        allocate_many([["a", "b"]], seats=3)
    with pytest.raises(SaylauInputError):
        allocate_many([[1, 2]], seats=3, threshold_base="cast")
    with pytest.warns(SaylauWarning, match="no party passed"):
        out = allocate_many([[10, 10], [90, 10]], seats=4, threshold="60%", min_parties=2)
    # first draw: nobody passes; second: the runner-up is admitted, Hare 3.6 / 0.4 -> 4 / 0
    assert out.tolist() == [[0, 0], [4, 0]]
    assert allocate_many([[70, 30]], seats=4, threshold="50%", min_parties=2).tolist() == [[3, 1]]
