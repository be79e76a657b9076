"""Aggregation up the hierarchy, validity and outcome rules, seat allocation."""

from __future__ import annotations

from ..domain.rules import RULES, RuleSet, get_rules
from .aggregate import Outcome, Tabulation, decide, tabulate
from .seats import SeatAllocation, allocate, allocate_by_rules
from .seats_many import allocate_many

__all__ = [
    "RULES",
    "Outcome",
    "RuleSet",
    "SeatAllocation",
    "Tabulation",
    "allocate",
    "allocate_by_rules",
    "allocate_many",
    "decide",
    "get_rules",
    "tabulate",
]
