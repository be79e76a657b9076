"""saylau: open-source software for citizens who watch elections.

Protocol checks, tabulation with a first-class "Against all", seat allocation under the real law,
exit polls and quick counts with honest margins, and election forensics.
"""

from __future__ import annotations

from ._exceptions import (
    DataFormatError,
    EmptyInputError,
    EncodingError,
    SaylauError,
    SaylauInputError,
    SaylauWarning,
    UnknownNameError,
)
from .domain.checks import validate
from .domain.choices import Choice, is_against_all
from .domain.profiles import PROFILES, ControlRelation, ProtocolProfile, get_profile
from .domain.rules import RULES, RuleSet, get_rules
from .domain.table import ProtocolTable, RowProblem
from .io import ColumnMapping, read_protocols
from .results import Estimate, Result
from .tabulate.aggregate import tabulate as tabulate_results
from .tabulate.seats import SeatAllocation, allocate, allocate_by_rules

__version__ = "0.1.0"

__all__ = [
    "PROFILES",
    "RULES",
    "Choice",
    "ColumnMapping",
    "ControlRelation",
    "DataFormatError",
    "EmptyInputError",
    "EncodingError",
    "Estimate",
    "ProtocolProfile",
    "ProtocolTable",
    "Result",
    "RowProblem",
    "RuleSet",
    "SaylauError",
    "SaylauInputError",
    "SaylauWarning",
    "SeatAllocation",
    "UnknownNameError",
    "__version__",
    "allocate",
    "allocate_by_rules",
    "get_profile",
    "get_rules",
    "is_against_all",
    "read_protocols",
    "tabulate_results",
    "validate",
]
