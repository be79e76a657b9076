"""How many stations (and interviews) a quick count or exit poll needs, and the skip interval.

Formulas (``z`` the normal quantile of the confidence level, ``e`` the margin of error as a
fraction, ``p`` the expected share):

* voters for a simple random sample of voters, with the finite-population correction
  (Cochran 1977, eq. 4.2; the NDI handbook's form):
  ``n = p(1 − p) / (e²/z² + p(1 − p)/N)`` = ``n₀ / (1 + n₀/N)`` with ``n₀ = z² p(1 − p) / e²``;
* a quick count samples whole stations (clusters of ``m`` ballots). With intra-station
  correlation ``ρ`` the design effect is ``deff = 1 + (m − 1) ρ`` (Kish 1965, §5.4), or
  ``deff`` is measured on past results (:func:`design_effect_from_table`). Stations needed:
  ``s₀ = n₀ · deff / m``, then ``s = s₀ / (1 + s₀ / S)`` with ``S`` stations in the frame;
* an exit poll interviews ``m`` voters per station: the same with ``m`` = interviews per
  station; the interviewer approaches every ``k``-th voter with
  ``k = floor(registered · turnout · response_rate / m)`` (at least 1) so that about ``m``
  interviews are completed over the day.

The handbook's worked example (Peru 2001: N = 14,570,774 voters, e = 0.32%, z = 2.58,
p = 0.5) prints 163,185 voters because it rounds the intermediate terms; the formula itself
gives 160,717.26.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley. §4.4–4.6.
Kish, L. (1965). *Survey Sampling*. Wiley. §5.4 (design effect of cluster samples).
Estok, M., Nevitte, N. & Cowan, G. (2002). *The Quick Count and Election Observation*. NDI,
ch. 5.

Examples
--------
>>> round(voters_needed(0.0032, p=0.5, z=2.58, population=14_570_774).voters_exact, 2)
160717.26
>>> plan = plan_quick_count(moe=0.01, voters_per_station=500, rho=0.02, confidence=0.95)
>>> plan.deff, plan.stations
(10.98, 211)
>>> skip_interval(registered=1500, expected_turnout=0.6, interviews=100).k
9
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from .._exceptions import SaylauInputError
from ..domain.table import ProtocolTable
from ..results import Result

__all__ = [
    "DesignEffect",
    "SampleSizePlan",
    "SkipPlan",
    "design_effect_from_table",
    "margin_of_error",
    "plan_exit_poll",
    "plan_quick_count",
    "skip_interval",
    "voters_needed",
]


def _z(confidence: float, z: float | None) -> float:
    if z is not None:
        if z <= 0:
            raise SaylauInputError("z must be positive", field="z", found=z)
        return float(z)
    if not 0 < confidence < 1:
        raise SaylauInputError(
            "confidence must be between 0 and 1", field="confidence", found=confidence
        )
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _check(moe: float, p: float) -> None:
    if not 0 < moe < 1:
        raise SaylauInputError(
            "margin of error must be a fraction in (0, 1)",
            field="moe",
            expected="e.g. 0.01 for ±1 point",
            found=moe,
        )
    if not 0 < p < 1:
        raise SaylauInputError("expected share must be in (0, 1)", field="p", found=p)


@dataclasses.dataclass(frozen=True)
class SampleSizePlan(Result):
    """A sample size: voters/interviews and stations, with the assumptions that gave it.

    ``voters_exact`` / ``stations_exact`` are the unrounded formula values; ``voters`` and
    ``stations`` are rounded up. ``moe_achieved`` is the margin the rounded sample gives.
    """

    kind: str
    moe: float
    p: float
    z: float
    deff: float
    rho: float | None
    per_station: float | None
    population: int | None
    frame_stations: int | None
    voters_exact: float
    voters: int
    stations_exact: float | None
    stations: int | None
    moe_achieved: float
    contacts: int | None = None
    formula: str = ""


def voters_needed(
    moe: float,
    *,
    p: float = 0.5,
    confidence: float = 0.95,
    z: float | None = None,
    population: int | None = None,
) -> SampleSizePlan:
    """Voters for a simple random sample of voters: ``p(1−p) / (e²/z² + p(1−p)/N)``.

    Parameters
    ----------
    moe : float
        Margin of error as a fraction (0.01 = ±1 point).
    p : float
        Expected share (0.5 is the most conservative).
    confidence : float
        Confidence level (ignored when ``z`` is given).
    z : float, optional
        Normal quantile to use as is (handbooks round it, e.g. 2.58 for 99%).
    population : int, optional
        Voters in the population (finite-population correction); none: infinite.

    Examples
    --------
    >>> voters_needed(0.03, confidence=0.95).voters
    1068
    """
    _check(moe, p)
    zz = _z(confidence, z)
    pq = p * (1 - p)
    n0 = zz * zz * pq / (moe * moe)
    n = pq / (moe * moe / (zz * zz) + (pq / population if population else 0.0))
    voters = math.ceil(n - 1e-9)
    return SampleSizePlan(
        kind="voters (simple random sample)",
        moe=moe,
        p=p,
        z=zz,
        deff=1.0,
        rho=None,
        per_station=None,
        population=population,
        frame_stations=None,
        voters_exact=n,
        voters=voters,
        stations_exact=None,
        stations=None,
        moe_achieved=margin_of_error(voters, p=p, z=zz, population=population),
        formula=f"n0 = z^2 p(1-p)/e^2 = {n0:.2f}; n = n0 / (1 + n0/N)",
    )


def margin_of_error(
    n: float,
    *,
    p: float = 0.5,
    confidence: float = 0.95,
    z: float | None = None,
    deff: float = 1.0,
    population: int | None = None,
) -> float:
    """Margin of error ``z · sqrt(deff · p(1−p)/n · (1 − n/N))`` of ``n`` voters/interviews.

    Examples
    --------
    >>> round(margin_of_error(1068, confidence=0.95), 4)
    0.03
    """
    if n <= 0:
        raise SaylauInputError("sample size must be positive", field="n", found=n)
    zz = _z(confidence, z)
    fpc = 1 - n / population if population else 1.0
    return float(zz * math.sqrt(deff * p * (1 - p) / n * max(fpc, 0.0)))


def _cluster_plan(
    kind: str,
    *,
    moe: float,
    p: float,
    confidence: float,
    z: float | None,
    per_station: float,
    rho: float | None,
    deff: float | None,
    frame_stations: int | None,
    response_rate: float = 1.0,
) -> SampleSizePlan:
    _check(moe, p)
    if per_station < 1:
        raise SaylauInputError(
            "voters/interviews per station must be at least 1",
            field="per_station",
            found=per_station,
        )
    if deff is None:
        if rho is None:
            raise SaylauInputError(
                "give the design effect or the intra-station correlation",
                field="rho",
                expected="rho in [0, 1] (e.g. 0.02) or deff >= 1",
            )
        if not 0 <= rho <= 1:
            raise SaylauInputError("rho must be in [0, 1]", field="rho", found=rho)
        deff = 1 + (per_station - 1) * rho
    if deff <= 0:
        raise SaylauInputError("design effect must be positive", field="deff", found=deff)
    if not 0 < response_rate <= 1:
        raise SaylauInputError(
            "response rate must be in (0, 1]", field="response_rate", found=response_rate
        )
    zz = _z(confidence, z)
    pq = p * (1 - p)
    n0 = zz * zz * pq / (moe * moe)
    s0 = n0 * deff / per_station
    s = s0 / (1 + s0 / frame_stations) if frame_stations else s0
    stations = math.ceil(s - 1e-9)
    if frame_stations:
        stations = min(stations, frame_stations)
    voters = math.ceil(stations * per_station)
    se2 = deff * pq / (stations * per_station)
    if frame_stations:
        se2 *= max(1 - stations / frame_stations, 0.0)
    contacts = math.ceil(voters / response_rate) if response_rate < 1 else None
    return SampleSizePlan(
        kind=kind,
        moe=moe,
        p=p,
        z=zz,
        deff=round(float(deff), 12),
        rho=rho,
        per_station=per_station,
        population=None,
        frame_stations=frame_stations,
        voters_exact=s * per_station,
        voters=voters,
        stations_exact=s,
        stations=stations,
        moe_achieved=float(zz * math.sqrt(se2)),
        contacts=contacts,
        formula=(
            f"n0 = z^2 p(1-p)/e^2 = {n0:.2f}; deff = {deff:.4g}; s0 = n0 deff / m = {s0:.2f}; "
            "s = s0 / (1 + s0/S)"
        ),
    )


def plan_quick_count(
    *,
    moe: float,
    voters_per_station: float,
    p: float = 0.5,
    confidence: float = 0.95,
    z: float | None = None,
    rho: float | None = None,
    deff: float | None = None,
    frame_stations: int | None = None,
) -> SampleSizePlan:
    """Stations a quick count needs for a margin of error on a share.

    Parameters
    ----------
    moe : float
        Target margin of error (fraction).
    voters_per_station : float
        Expected ballots per station (``m``: registered × turnout).
    p, confidence, z
        As in :func:`voters_needed`.
    rho : float, optional
        Intra-station correlation of the vote (``deff = 1 + (m − 1) ρ``).
    deff : float, optional
        Design effect measured on past data (overrides ``rho``).
    frame_stations : int, optional
        Stations in the frame (finite-population correction at the station level).

    Examples
    --------
    >>> plan_quick_count(moe=0.005, voters_per_station=800, deff=20.0, confidence=0.95).stations
    961
    """
    return _cluster_plan(
        "quick count (stations, whole protocols)",
        moe=moe,
        p=p,
        confidence=confidence,
        z=z,
        per_station=voters_per_station,
        rho=rho,
        deff=deff,
        frame_stations=frame_stations,
    )


def plan_exit_poll(
    *,
    moe: float,
    interviews_per_station: int,
    p: float = 0.5,
    confidence: float = 0.95,
    z: float | None = None,
    rho: float | None = None,
    deff: float | None = None,
    response_rate: float = 1.0,
    frame_stations: int | None = None,
) -> SampleSizePlan:
    """Stations and interviews an exit poll needs (clusters of ``m`` interviews per station).

    ``contacts`` is the number of voters to approach, ``interviews / response_rate``.

    Examples
    --------
    >>> pl_ = plan_exit_poll(moe=0.02, interviews_per_station=100, rho=0.05)
    >>> pl_.deff, pl_.stations, pl_.voters
    (5.95, 143, 14300)
    """
    return _cluster_plan(
        "exit poll (stations x interviews)",
        moe=moe,
        p=p,
        confidence=confidence,
        z=z,
        per_station=float(interviews_per_station),
        rho=rho,
        deff=deff,
        frame_stations=frame_stations,
        response_rate=response_rate,
    )


@dataclasses.dataclass(frozen=True)
class SkipPlan(Result):
    """The interviewer's skip interval: approach every ``k``-th voter leaving the station."""

    k: int
    expected_voters: float
    contacts: float
    expected_interviews: float
    formula: str = "k = floor(registered * turnout * response_rate / interviews), k >= 1"


def skip_interval(
    *,
    registered: int,
    expected_turnout: float,
    interviews: int,
    response_rate: float = 1.0,
) -> SkipPlan:
    """Every how many voters an interviewer approaches one, to complete ``interviews``.

    ``k = floor(V · r / m)`` with ``V = registered × turnout`` expected voters, ``r`` the
    response rate and ``m`` the interviews wanted; rounded down so that the target is met,
    and at least 1 (approach everyone).

    Examples
    --------
    >>> s = skip_interval(registered=2000, expected_turnout=0.5, interviews=120,
    ...                   response_rate=0.7)
    >>> s.k, round(s.expected_interviews, 1)
    (5, 140.0)
    """
    if registered <= 0 or interviews <= 0:
        raise SaylauInputError(
            "registered voters and interviews must be positive",
            field="registered" if registered <= 0 else "interviews",
            found=registered if registered <= 0 else interviews,
        )
    if not 0 < expected_turnout <= 1:
        raise SaylauInputError(
            "expected turnout must be in (0, 1]", field="expected_turnout", found=expected_turnout
        )
    if not 0 < response_rate <= 1:
        raise SaylauInputError(
            "response rate must be in (0, 1]", field="response_rate", found=response_rate
        )
    voters = registered * expected_turnout
    k = max(1, math.floor(voters * response_rate / interviews + 1e-9))
    contacts = voters / k
    return SkipPlan(
        k=k,
        expected_voters=voters,
        contacts=contacts,
        expected_interviews=contacts * response_rate,
    )


@dataclasses.dataclass(frozen=True)
class DesignEffect(Result):
    """Design effect of sampling whole stations for one share, measured on past results.

    ``deff = S²_u / (m̄ p(1 − p))`` with ``u_i = y_i − p x_i`` (the linearised share),
    ``S²_u`` its variance pooled within strata and ``m̄`` the mean ballots per station;
    ``rho = (deff − 1) / (m̄ − 1)`` is the implied intra-station correlation.
    """

    choice: str
    p: float
    deff: float
    rho: float
    mean_ballots: float
    stations: int
    strata: int


def design_effect_from_table(
    table: ProtocolTable,
    choice: str,
    *,
    strata: Sequence[str] = (),
    denominator: str = "valid",
) -> DesignEffect:
    """Measure the design effect of a quick count for ``choice`` on a past election.

    The variance of the ratio estimator under stratified SRS of ``s`` stations (proportional
    allocation, FPC ignored) is ``S²_u / (s · m̄²)``; a simple random sample of the same
    ``s · m̄`` ballots has ``p(1 − p) / (s · m̄)``; their ratio is the design effect.

    Examples
    --------
    >>> import polars as pl
    >>> t = ProtocolTable.from_frame(pl.DataFrame({"station": ["1", "2", "3", "4"],
    ...     "voters_on_list": [900] * 4, "invalid": [0] * 4, "valid": [500] * 4,
    ...     "A": [100, 200, 300, 400], "B": [400, 300, 200, 100]}),
    ...     profile="plain", choices=["A", "B"])
    >>> round(design_effect_from_table(t, "A").deff, 2)  # S²_u = 16666.67, m̄ p(1-p) = 125
    133.33
    """
    c = table.choice(choice)
    votes = table.vote_matrix().astype(float)
    x = votes.sum(axis=1)
    if denominator == "cast":
        x = x + table.line("invalid").astype(float)
    y = table.votes(c).astype(float)
    keep = x > 0
    if keep.sum() < 2:
        raise SaylauInputError(
            "need at least two stations with ballots", file=table.source, field="valid"
        )
    x, y = x[keep], y[keep]
    p = float(y.sum() / x.sum())
    u = y - p * x
    if strata:
        lab = (
            pl.DataFrame([table.frame.get_column(s).cast(pl.Utf8) for s in strata])
            .select(pl.concat_str(list(strata), separator=" | "))
            .to_series()
            .to_numpy()[keep]
        )
    else:
        lab = np.zeros(len(u), dtype=object)
    df = pl.DataFrame({"h": lab.astype(str), "u": u})
    g = df.group_by("h").agg(pl.len().alias("n"), pl.col("u").var(ddof=1).fill_null(0.0))
    ns = g.get_column("n").to_numpy()
    vs = g.get_column("u").to_numpy()
    pooled = float(((ns - 1) * vs).sum() / max(ns.sum() - len(ns), 1))
    m = float(x.mean())
    deff = pooled / (m * p * (1 - p))
    rho = (deff - 1) / (m - 1) if m > 1 else float("nan")
    return DesignEffect(
        choice=c.id,
        p=p,
        deff=deff,
        rho=rho,
        mean_ballots=m,
        stations=len(u),
        strata=len(ns),
    )
