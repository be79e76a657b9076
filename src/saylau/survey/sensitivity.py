"""Differential non-response: how unequal response would have to be for the official result
to be right (the caveat every survey comparison carries; formulas in
:mod:`saylau.survey.compare`).

References
----------
Edison Media Research & Mitofsky International (2005). *Evaluation of Edison/Mitofsky Election
System 2004*.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from ..results import Result
from .estimates import ShareEstimates

__all__ = ["NonResponseSensitivity"]

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class NonResponseSensitivity(Result):
    """How unequal refusals would have to be for the official share of ``choice`` to be right.

    ``response_ratio`` is λ: supporters of the choice would have to answer λ times as often as
    other voters. ``refusal_rate_supporters`` / ``refusal_rate_others`` follow from the overall
    refusal rate (None when unknown); ``refusal_gap`` is their difference (others − supporters)
    and ``feasible`` says whether both rates lie in [0, 1].
    """

    choice: str
    response_ratio: float
    refusal_rate_supporters: float | None
    refusal_rate_others: float | None
    refusal_gap: float | None
    feasible: bool | None


def _sensitivity(
    est: ShareEstimates, off: FloatArray, rate: float | None
) -> tuple[NonResponseSensitivity, ...]:
    out = []
    for i, c in enumerate(est.choices):
        p, o = float(est.estimate[i]), float(off[i])
        if not (0 < p < 1 and 0 < o < 1):
            lam = math.inf if (p > 0 and o == 0) or (p == 1 and o < 1) else math.nan
            if p == o:
                lam = 1.0
            out.append(NonResponseSensitivity(c, lam, None, None, None, None))
            continue
        lam = (p / (1 - p)) / (o / (1 - o))
        if rate is None:
            out.append(NonResponseSensitivity(c, lam, None, None, None, None))
            continue
        r0 = (1 - rate) / (lam * o + 1 - o)
        sup, oth = 1 - lam * r0, 1 - r0
        feasible = bool(0 <= sup <= 1 and 0 <= oth <= 1)
        out.append(NonResponseSensitivity(c, lam, sup, oth, oth - sup, feasible))

    def extremity(s: NonResponseSensitivity) -> float:
        r = s.response_ratio
        if not math.isfinite(r) or r <= 0:
            return math.inf
        return abs(math.log(r))

    return tuple(sorted(out, key=extremity, reverse=True))


def _caveat(top: NonResponseSensitivity | None, rate: float | None, *, interviews: bool) -> str:
    """The differential non-response caveat in words, with this comparison's numbers."""
    if top is None or not math.isfinite(top.response_ratio) or top.response_ratio <= 0:
        return (
            "The tests assume that the voters (or stations) that answered resemble those that "
            "did not, within station and stratum; here a choice has a zero share, so no "
            "unequal response can explain the gap."
        )
    lam, c = top.response_ratio, top.choice
    if not interviews:
        factor = lam if lam >= 1 else 1 / lam
        side = "over" if lam >= 1 else "under"
        return (
            "The tests assume that, within each stratum, the stations that reported resemble "
            "those that did not. The official result would be consistent with this estimate if "
            f"votes for {c} were {side}-represented among the reported stations by a factor "
            f"of {factor:.2f} in the odds (differential non-reporting or selection of "
            "stations). Such a difference is not sampling error."
        )
    who = (
        f"supporters of {c} answered {lam:.2f} times as often as other voters"
        if lam >= 1
        else f"other voters answered {1 / lam:.2f} times as often as supporters of {c}"
    )
    text = (
        "These tests assume that, within a station and time band, voters of every choice "
        "refuse the interview equally often. The official result would be consistent with "
        f"this estimate if {who}"
    )
    if top.refusal_rate_supporters is not None and top.refusal_rate_others is not None:
        text += (
            f" (refusal rates {top.refusal_rate_supporters:.1%} against "
            f"{top.refusal_rate_others:.1%} at the observed overall rate {rate:.1%}"
            + ("" if top.feasible else "; impossible: a rate outside 0-100%")
            + ")"
        )
    return text + ". Such a difference is not sampling error and no weighting removes it."
