"""Cross-checks of the classic methods against two established packages, votelib and
apportionment, on many random elections (expected values: the other library's output).

Random vote counts are large, so exact ties are vanishingly rare; an allocation that reports a
tie is skipped, since each library breaks ties its own way.
"""

from __future__ import annotations

import string
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import votelib.component.divisor as vl_divisor
import votelib.evaluate.proportional as vl
from apportionment import methods as app_methods

from saylau._exceptions import SaylauWarning
from saylau.tabulate.seats import allocate

N_ELECTIONS = 150


def _elections(seed: int) -> list[tuple[dict[str, int], int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(N_ELECTIONS):
        n = int(rng.integers(2, 12))
        # skewed shares like real party systems, 1e4..1e7 voters
        shares = rng.dirichlet(np.full(n, rng.uniform(0.3, 3.0)))
        total = int(rng.integers(10_000, 10_000_000))
        votes = rng.multinomial(total, shares)
        seats = int(rng.integers(1, 200))
        out.append(({string.ascii_letters[i]: int(v) for i, v in enumerate(votes)}, seats))
    return out


def _ours(
    votes: dict[str, int], seats: int, method: str, threshold: Fraction | None = None
) -> dict[str, int] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaylauWarning)
        result = allocate(votes, seats=seats, method=method, threshold=threshold)
    if result.ties:
        return None
    return {k: v for k, v in result.seats.items() if v}


VOTELIB = {
    "hare": lambda: vl.LargestRemainder("hare"),
    "droop": lambda: vl.LargestRemainder("droop"),
    "dhondt": lambda: vl.HighestAverages("d_hondt"),
    "sainte-lague": lambda: vl.HighestAverages("sainte_lague"),
    "modified-sainte-lague": lambda: vl.HighestAverages(
        vl_divisor.modified_first_coef(vl_divisor.sainte_lague, Decimal("1.4"))
    ),
}


@pytest.mark.parametrize("method", list(VOTELIB))
def test_agrees_with_votelib(method: str) -> None:
    evaluator = VOTELIB[method]()
    compared = 0
    for votes, seats in _elections(11):
        if method == "droop" and sum(votes.values()) < 20 * seats**2:
            continue  # votelib's Droop gives one remainder seat per party at most
        ours = _ours(votes, seats, method)
        if ours is None:
            continue
        theirs = evaluator.evaluate(votes, seats)
        assert all(isinstance(k, str) for k in theirs)  # no votelib Tie objects
        assert ours == {k: v for k, v in theirs.items() if v}, (votes, seats)
        compared += 1
    assert compared > N_ELECTIONS * 0.8


APPORTIONMENT = {
    "hare": "largest_remainder",
    "dhondt": "dhondt",
    "sainte-lague": "saintelague",
    "modified-sainte-lague": "modified_saintelague",
}


@pytest.mark.parametrize("method", list(APPORTIONMENT))
@pytest.mark.parametrize("threshold", [None, Fraction(5, 100), Fraction(7, 100)])
def test_agrees_with_apportionment(method: str, threshold: Fraction | None) -> None:
    compared = 0
    for votes, seats in _elections(23):
        names = list(votes)
        counts = [votes[k] for k in names]
        if threshold is not None:
            bar = float(threshold) * sum(counts)
            if any(abs(v - bar) < 1 for v in counts):
                continue  # apportionment compares in floats; stay off the exact boundary
            if all(v < bar for v in counts):
                continue  # nobody passes: apportionment divides by zero, we raise
        ours = _ours(votes, seats, method, threshold)
        if ours is None:
            continue
        theirs = app_methods.compute(
            APPORTIONMENT[method],
            counts,
            seats,
            fractions=True,
            parties=names,
            threshold=None if threshold is None else float(threshold),
        )
        assert ours == {k: v for k, v in zip(names, theirs, strict=True) if v}, (votes, seats)
        compared += 1
    assert compared > N_ELECTIONS * 0.5
