"""Fake voters and padded turnout: head counts, observed versus unobserved stations, voter lists.

One module per idea:

* :mod:`~saylau.turnout.headcount`: observers' head counts against the ballots issued;
* :mod:`~saylau.turnout.simulate`: simulated elections with a known truth for these methods.
"""

from __future__ import annotations

from .headcount import (
    HeadCounts,
    TurnoutExcessResult,
    head_counts_from_frame,
    read_head_counts,
    turnout_excess,
)
from .simulate import simulate_head_counts, simulate_observer_experiment

__all__ = [
    "HeadCounts",
    "TurnoutExcessResult",
    "head_counts_from_frame",
    "read_head_counts",
    "simulate_head_counts",
    "simulate_observer_experiment",
    "turnout_excess",
]
