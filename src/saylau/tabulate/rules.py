"""Rule sets, re-exported from :mod:`saylau.domain.rules` where they live (legal data).

Kept so that ``from saylau.tabulate.rules import get_rules`` goes on working.

>>> get_rules("ru-president-2004").against_all
'fails_if_beats_leader'
"""

from __future__ import annotations

from ..domain.rules import RULES, Base, RuleSet, SeatMethod, get_rules

__all__ = ["RULES", "Base", "RuleSet", "SeatMethod", "get_rules"]
