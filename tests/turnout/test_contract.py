"""The contract of the turnout methods: row order does not matter, inputs are not mutated,
results pickle, empty input raises a clear error (as tests/forensics/test_contract.py does for
the forensic methods)."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.turnout import (
    HeadCounts,
    observer_effect,
    turnout_excess,
    voter_list_checks,
)
from saylau.turnout.simulate import simulate_head_counts, simulate_observer_experiment


def _shuffle(t: ProtocolTable, seed: int) -> ProtocolTable:
    order = np.random.default_rng(seed).permutation(t.stations)
    return ProtocolTable.from_frame(
        t.frame[order], profile=t.profile, choices=t.choices, levels=t.levels, source=t.source
    )


def test_head_count_contract() -> None:
    sim = simulate_head_counts(stations=300, counted=120, padded=6, rng=3)
    before = sim.table.frame.clone()
    res = turnout_excess(sim.table, sim.counts)
    counts = HeadCounts(sim.counts.frame.sample(fraction=1.0, shuffle=True, seed=1))
    again = turnout_excess(_shuffle(sim.table, 2), counts)
    assert again.estimate == res.estimate and sorted(again.flagged) == sorted(res.flagged)
    assert sim.table.frame.equals(before)
    assert pickle.loads(pickle.dumps(res)).estimate == res.estimate
    empty = HeadCounts(sim.counts.frame.head(0))
    with pytest.raises(SaylauInputError):
        turnout_excess(sim.table, empty)


def test_observer_effect_contract() -> None:
    exp = simulate_observer_experiment(stations=400, observed=80, rng=6)
    res = observer_effect(exp.table, draw=exp.draw, frame=exp.frame)
    again = observer_effect(_shuffle(exp.table, 3), draw=exp.draw, frame=exp.frame)
    assert again.estimate == pytest.approx(res.estimate, rel=1e-12)
    assert again.std_err == pytest.approx(res.std_err, rel=1e-9)
    matched = observer_effect(exp.table, observed=exp.observed, previous=exp.previous)
    shuffled = observer_effect(
        _shuffle(exp.table, 4), observed=exp.observed, previous=_shuffle(exp.previous, 5)
    )
    assert shuffled.estimate == pytest.approx(matched.estimate, rel=1e-12)
    assert pickle.loads(pickle.dumps(res)).rows.equals(res.rows)


def test_voter_list_contract() -> None:
    exp = simulate_observer_experiment(stations=600, observed=50, rng=7)
    res = voter_list_checks([exp.previous, exp.table], names=["a", "b"])
    again = voter_list_checks([_shuffle(exp.previous, 1), _shuffle(exp.table, 2)], names=["a", "b"])
    cols = ["check", "election", "territory", "stations", "flagged", "pvalue"]
    assert again.territories.select(cols).equals(res.territories.select(cols))
    assert pickle.loads(pickle.dumps(res)).tests == res.tests
    with pytest.raises(SaylauInputError, match="no election"):
        voter_list_checks([])
    assert isinstance(res.territories, pl.DataFrame)
