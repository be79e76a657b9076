"""Fake voters and padded turnout: head counts, observed versus unobserved stations, voter lists.

One module per idea:

* :mod:`~saylau.turnout.headcount`: observers' head counts against the ballots issued;
* :mod:`~saylau.turnout.observed`: turnout and shares where observers were and were not;
* :mod:`~saylau.turnout.voterlists`: stations matched across elections, list jumps, odd shares;
* :mod:`~saylau.turnout.copies`: observers' protocol copies in the gnhq-parser layout;
* :mod:`~saylau.turnout.simulate`: simulated elections with a known truth for these methods.
"""

from __future__ import annotations

from .copies import read_observer_copies
from .headcount import (
    HeadCounts,
    TurnoutExcessResult,
    head_counts_from_frame,
    read_head_counts,
    turnout_excess,
)
from .observed import ObserverEffectResult, observer_effect, read_station_list
from .simulate import simulate_head_counts, simulate_observer_experiment
from .voterlists import (
    ListCalibration,
    StationMatch,
    VoterListResult,
    calibrate_voter_lists,
    match_stations,
    voter_list_checks,
)

__all__ = [
    "HeadCounts",
    "ListCalibration",
    "ObserverEffectResult",
    "StationMatch",
    "TurnoutExcessResult",
    "VoterListResult",
    "calibrate_voter_lists",
    "head_counts_from_frame",
    "match_stations",
    "observer_effect",
    "read_head_counts",
    "read_observer_copies",
    "read_station_list",
    "simulate_head_counts",
    "simulate_observer_experiment",
    "turnout_excess",
    "voter_list_checks",
]
