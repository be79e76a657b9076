"""Hypothesis properties of seat allocation (Balinski & Young 2001; Pukelsheim 2017).

- seats sum to the house size; Against all never gets a seat;
- a party below the threshold gets none; a party exactly at it passes only when inclusive;
- Hare largest remainder satisfies quota: floor(q) <= seats <= ceil(q) for q = v S / V;
- divisor methods are house-monotone: one more seat never takes a seat from anyone;
- reordering the input changes nothing, except through the declared tie rule.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saylau._exceptions import SaylauInputError, SaylauWarning
from saylau.tabulate.seats import METHODS, allocate

DIVISOR = ("dhondt", "sainte-lague", "modified-sainte-lague")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaylauWarning)
        yield


votes_st = st.lists(st.integers(0, 50_000), min_size=1, max_size=9).map(
    lambda vs: {f"P{i}": v for i, v in enumerate(vs)}
)
thresholds = st.one_of(st.none(), st.fractions(0, Fraction(1, 4), max_denominator=200))


@st.composite
def election(draw: st.DrawFn) -> tuple[dict[str, int], int, str, Fraction | None]:
    votes = draw(votes_st)
    if draw(st.booleans()):
        votes["against_all"] = draw(st.integers(0, 100_000))
    seats = draw(st.integers(1, 120))
    method = draw(st.sampled_from(METHODS))
    return votes, seats, method, draw(thresholds)


def no_party_can_take_part(votes: dict[str, int], threshold: Fraction | None) -> bool:
    """The one case where allocation may refuse: nobody with votes reaches the threshold."""
    bar = 0 if threshold is None else threshold * sum(votes.values())
    return not any(v > 0 and v >= bar for k, v in votes.items() if k != "against_all")


@SETTINGS
@given(election())
def test_house_filled_against_all_empty_threshold_respected(
    case: tuple[dict[str, int], int, str, Fraction | None],
) -> None:
    votes, seats, method, threshold = case
    try:
        with quiet():
            result = allocate(votes, seats=seats, method=method, threshold=threshold)
    except SaylauInputError:
        assert no_party_can_take_part(votes, threshold)
        return
    assert sum(result.seats.values()) == seats
    assert result.seats.get("against_all", 0) == 0
    base = sum(votes.values())
    for choice, v in votes.items():
        if threshold is not None and v < threshold * base:
            assert result.seats[choice] == 0
            assert choice not in result.passed
        if v == 0:
            assert result.seats[choice] == 0


@SETTINGS
@given(votes_st, st.integers(1, 150), thresholds)
def test_hare_quota_rule(votes: dict[str, int], seats: int, threshold: Fraction | None) -> None:
    try:
        with quiet():
            result = allocate(votes, seats=seats, method="hare", threshold=threshold)
    except SaylauInputError:
        assert no_party_can_take_part(votes, threshold)
        return
    total = sum(votes[p] for p in result.passed)
    for p in result.passed:
        q = Fraction(votes[p] * seats, total)
        assert math.floor(q) <= result.seats[p] <= math.ceil(q)


@SETTINGS
@given(votes_st, st.integers(1, 80), st.sampled_from(DIVISOR), thresholds)
def test_divisor_methods_are_house_monotone(
    votes: dict[str, int], seats: int, method: str, threshold: Fraction | None
) -> None:
    try:
        with quiet():
            small = allocate(votes, seats=seats, method=method, threshold=threshold)
            big = allocate(votes, seats=seats + 1, method=method, threshold=threshold)
    except SaylauInputError:
        assert no_party_can_take_part(votes, threshold)
        return
    assert all(big.seats[p] >= small.seats[p] for p in votes)


@st.composite
def at_threshold(draw: st.DrawFn) -> tuple[dict[str, int], Fraction]:
    """Votes where party X holds exactly the threshold share of all valid votes."""
    den = draw(st.integers(2, 100))
    num = draw(st.integers(1, den - 1))
    others = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=6))
    step = den - num
    total_others = sum(others)
    m = max(1, -(-total_others // step))
    others[0] += m * step - total_others  # others sum to m (den - num)
    votes = {f"P{i}": v for i, v in enumerate(others)}
    votes["X"] = m * num  # X / (X + others) = num / den exactly
    if draw(st.booleans()):
        votes["Против всех"] = votes.pop("P0")  # Against all counts in the "valid" base
    return votes, Fraction(num, den)


@SETTINGS
@given(at_threshold(), st.sampled_from(METHODS))
def test_exact_threshold_boundary(case: tuple[dict[str, int], Fraction], method: str) -> None:
    votes, threshold = case
    assert Fraction(votes["X"], sum(votes.values())) == threshold
    with quiet():
        inclusive = allocate(votes, seats=10, method=method, threshold=threshold)
    assert "X" in inclusive.passed
    try:
        with quiet():
            exclusive = allocate(
                votes, seats=10, method=method, threshold=threshold, inclusive_threshold=False
            )
    except SaylauInputError:
        # X was the only party with a chance: no other list is strictly over the threshold
        bar = threshold * sum(votes.values())
        assert not any(v > bar for k, v in votes.items() if k not in ("X", "Против всех"))
        return
    assert "X" not in exclusive.passed and exclusive.seats["X"] == 0


@SETTINGS
@given(election(), st.randoms(use_true_random=False))
def test_input_order_matters_only_through_the_tie_rule(
    case: tuple[dict[str, int], int, str, Fraction | None], rnd: object
) -> None:
    votes, seats, method, threshold = case
    keys = list(votes)
    shuffled_keys = keys[:]
    rnd.shuffle(shuffled_keys)  # type: ignore[attr-defined]
    shuffled = {k: votes[k] for k in shuffled_keys}
    parties = [k for k in keys if k != "against_all"]
    try:
        with quiet():
            a = allocate(votes, seats=seats, method=method, threshold=threshold)
            b = allocate(shuffled, seats=seats, method=method, threshold=threshold)
            # with the registration order declared, the order of the mapping is irrelevant
            c = allocate(
                shuffled, seats=seats, method=method, threshold=threshold, tie_order=parties
            )
    except SaylauInputError:
        assert no_party_can_take_part(votes, threshold)
        return
    assert c.seats == a.seats and c.ties == a.ties
    if not a.ties and not b.ties:
        assert b.seats == a.seats
