"""Election forensics: the field's published fraud fingerprints, one function per method.

Every method takes a :class:`~saylau.domain.table.ProtocolTable` and keyword options, accepts
``rng`` (an int seed or a NumPy ``Generator``; no global randomness), and returns a frozen
result object (a :class:`saylau.results.Result`) with the estimate, its uncertainty and the
summary of the inputs. :data:`METHODS` maps each method's name (its key in the ``saylau
forensics --json`` output) to the function; the contract test suite runs over all of them.

========================  ==================================================================
``integer_peaks``         integer-percentage excess, exact binomial null (Kobak et al. 2016)
``excess_votes``          Shpilkin's anomalous-vote estimate, with peak-bin sensitivity
``distributions``         turnout and vote-share histograms (division-artefact correction)
``fingerprint``           election fingerprint and Klimek et al.'s fraud model (PNAS 2012)
``coarse_shares``         coarse vote shares (Rozenas 2017, the ``spikes`` method)
``digits``                digit and distribution tests (Hicken & Mebane's toolkit)
``small_counts``          implausible numbers of stations with 0, 1, 2 votes per commission
========================  ==================================================================

:func:`run_forensics` runs them all (the :data:`REGISTRY`) and decides the family's alarms;
:func:`calibrate` measures how often those alarms ring on clean elections.

Stations that are not ordinary polling stations (empty rows, zero registered voters, more
ballots than voters, electronic-voting pseudo-stations) are handled by the declared rules of
:func:`station_quality`, counted and reported by every method.

Examples
--------
>>> "integer_peaks" in METHODS and "excess_votes" in METHODS
True
"""

from __future__ import annotations

from collections.abc import Callable

from ..results import Result
from ._stations import STATION_RULES, StationQuality, station_quality

# the battery and the calibration study run the methods above (imported last: they use them)
from .battery import REGISTRY, ForensicsReport, run_forensics
from .calibrate import CalibrationResult, calibrate, election_structure
from .coarse import CoarseSharesResult, coarse_shares
from .digits import DigitTestsResult, digit_tests
from .distributions import DistributionsResult, distributions
from .fingerprint import FingerprintResult, KlimekFraudModel, fingerprint
from .integer_peaks import IntegerPeaksResult, integer_peaks
from .shpilkin import ExcessVotesResult, excess_votes
from .simulate import (
    FraudSpec,
    SimulatedElection,
    StationStructure,
    simulate_election,
)
from .small_counts import SmallCountsResult, small_counts

__all__ = [
    "METHODS",
    "REGISTRY",
    "STATION_RULES",
    "CalibrationResult",
    "CoarseSharesResult",
    "DigitTestsResult",
    "DistributionsResult",
    "ExcessVotesResult",
    "FingerprintResult",
    "ForensicsReport",
    "FraudSpec",
    "IntegerPeaksResult",
    "KlimekFraudModel",
    "SimulatedElection",
    "SmallCountsResult",
    "StationQuality",
    "StationStructure",
    "calibrate",
    "coarse_shares",
    "digit_tests",
    "distributions",
    "election_structure",
    "excess_votes",
    "fingerprint",
    "integer_peaks",
    "run_forensics",
    "simulate_election",
    "small_counts",
    "station_quality",
]

Method = Callable[..., Result]

#: Every forensic method by its name in the CLI's JSON output.
METHODS: dict[str, Method] = {
    "integer_peaks": integer_peaks,
    "excess_votes": excess_votes,
    "distributions": distributions,
    "fingerprint": fingerprint,
    "digits": digit_tests,
    "coarse_shares": coarse_shares,
    "small_counts": small_counts,
}
