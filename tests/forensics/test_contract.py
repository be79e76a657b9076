"""The contract every registered forensic method keeps (scikit-learn's parametrize_with_checks).

Over :data:`saylau.forensics.METHODS`: the same seed gives the same answer, the order of the rows
does not matter, empty input raises a clear error, the input table is not mutated, and the
result pickles. Run on a small simulated election (and a small hand-built one).
"""

from __future__ import annotations

import inspect
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.forensics import METHODS
from saylau.results import Result

#: Light options so that the suite stays fast (the defaults are exercised elsewhere).
LIGHT: dict[str, dict[str, Any]] = {
    "fingerprint": {"bootstrap": 5},
    "coarse_shares": {"resamples": 50},
    "digits": {"resamples": 50},
}


@pytest.fixture(scope="module")
def table() -> ProtocolTable:
    from saylau.forensics.simulate import simulate_election

    return simulate_election(stations=800, regions=3, rounded_share=0.05, rng=20).table


def _call(name: str, fn: Callable[..., Result], t: ProtocolTable, seed: int | None) -> Result:
    kwargs = dict(LIGHT.get(name, {}))
    if "rng" in inspect.signature(fn).parameters:
        kwargs["rng"] = seed
    return fn(t, **kwargs)


def _close(a: Any, b: Any, rel: float, path: str = "") -> list[str]:
    """Differences between two JSON-like values (floats compared with a relative tolerance)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _close(a[k], b[k], rel, f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _close(x, y, rel, f"{path}[{i}]")
        ]
    if (isinstance(a, float) and isinstance(b, float | int)) or (
        isinstance(b, float) and isinstance(a, int)
    ):
        if math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-9):
            return []
        return [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_same_seed_same_answer(name: str, table: ProtocolTable) -> None:
    fn = METHODS[name]
    a = _call(name, fn, table, 7).to_dict()
    b = _call(name, fn, table, 7).to_dict()
    assert _close(a, b, 0.0) == []


#: Methods that draw random numbers (resamples, simulations): their rng must be used.
STOCHASTIC = ("coarse_shares", "digits", "fingerprint")


@pytest.mark.parametrize("name", STOCHASTIC)
def test_another_seed_gives_other_draws(name: str, table: ProtocolTable) -> None:
    fn = METHODS[name]
    a = _call(name, fn, table, 7).to_dict()
    b = _call(name, fn, table, 8).to_dict()
    assert _close(a, b, 0.0) != []


@pytest.mark.parametrize("name", sorted(METHODS))
def test_row_order_does_not_matter(name: str, table: ProtocolTable) -> None:
    fn = METHODS[name]
    order = np.random.default_rng(3).permutation(table.stations)
    shuffled = ProtocolTable(
        frame=table.frame[order],
        profile=table.profile,
        choices=table.choices,
        levels=table.levels,
        source=table.source,
    )
    a = _call(name, fn, table, 7).to_dict()
    b = _call(name, fn, shuffled, 7).to_dict()
    assert _close(a, b, 1e-9) == []


@pytest.mark.parametrize("name", sorted(METHODS))
def test_empty_input_raises_a_clear_error(name: str, table: ProtocolTable) -> None:
    empty = table.filter(np.zeros(table.stations, dtype=bool))
    with pytest.raises(SaylauInputError) as info:
        _call(name, METHODS[name], empty, 7)
    assert str(info.value)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_inputs_are_not_mutated(name: str, table: ProtocolTable) -> None:
    before = table.frame.clone()
    choices = table.choices
    _call(name, METHODS[name], table, 7)
    assert table.frame.equals(before)
    assert table.choices == choices


@pytest.mark.parametrize("name", sorted(METHODS))
def test_results_pickle(name: str, table: ProtocolTable) -> None:
    r = _call(name, METHODS[name], table, 7)
    assert isinstance(r, Result)
    back = pickle.loads(pickle.dumps(r))
    assert type(back) is type(r)
    assert _close(back.to_dict(), r.to_dict(), 0.0) == []


def test_registry_names_the_methods_of_the_issue() -> None:
    assert {"integer_peaks", "excess_votes", "distributions", "fingerprint", "digits"} <= set(
        METHODS
    )


def test_hand_built_table_runs_through_my_methods() -> None:
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(6)],
            "region": ["a", "a", "a", "b", "b", "b"],
            "voters_on_list": [1000, 1200, 900, 1500, 800, 1100],
            "issued": [600, 700, 500, 900, 640, 550],
            "invalid": [5, 7, 5, 9, 4, 5],
            "valid": [595, 693, 495, 891, 636, 545],
            "A": [300, 350, 240, 600, 500, 270],
            "B": [295, 343, 255, 291, 136, 275],
        }
    )
    t = ProtocolTable.from_frame(frame, profile="plain", choices=["A", "B"], levels=["region"])
    for name in ("integer_peaks", "distributions"):
        r = METHODS[name](t)
        assert pickle.loads(pickle.dumps(r)).to_dict() == r.to_dict()
