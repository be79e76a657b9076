"""Integer-percentage peaks (Kobak, Shpilkin & Pshenichnikov 2016), with an exact binomial null.

When a commission writes a result instead of counting it, the numbers often come out as round
percentages: turnout 80.00 %, leader 70.00 %. The test counts the stations whose turnout
``T = 100 * issued / registered`` or leader share ``L = 100 * leader / (valid + invalid)`` lies
within ``tolerance`` (0.05) percentage points of a whole number, and compares the count with its
distribution under a null in which every station keeps its own observed rates: issued ~
Binomial(registered, observed turnout) and leader ~ Binomial(valid + invalid, observed share),
independently.

The published analyses drew 1,000 Monte Carlo samples of that null. Here its expectation and
variance are computed **exactly**: for every station, ``P_T`` (resp. ``P_L``) is the sum of the
binomial probabilities of the integer counts ``k`` with ``|100 k / n - m| <= tolerance`` for some
whole ``m``; the windows are found in exact integer arithmetic and the probabilities summed from
a table of log-factorials, over the central part of each binomial that holds all but ``e^-32``
of its mass (Bernstein's inequality), so the whole null takes a fraction of a second for 95,000
stations.
A station is integer for "either" with probability ``P = P_T + P_L - P_T P_L``. The count of
integer stations is then a sum of independent Bernoulli variables (a Poisson-binomial
distribution) with mean ``sum P`` and standard deviation ``sqrt(sum P (1 - P))``. The one-sided
p-value and the 99.9 % threshold use the *refined normal approximation* to the Poisson-binomial
distribution (a normal approximation with a continuity and a skewness correction, Volkova 1996;
Hong 2013), which is accurate to a few units in the third decimal of the tail probability for the
tens of thousands of stations of a national election; the test suite checks it against the exact
distribution computed by convolution on smaller inputs.

Inclusion rules, as in the reference analyses: ``valid + invalid > 0``, ``registered >= 100``,
turnout ``<= 0.99`` and leader share ``<= 0.99``. Rows caught by the declared bad-station rules
(:mod:`saylau.forensics._stations`) are counted in ``data_quality``.

What it can show: a significant excess says that more stations report round percentages than
honest counting produces. It cannot say by how many votes the result was changed, and a small
number of honest round results (very small stations are excluded for that reason) does not
produce one.

References
----------
.. [1] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Integer percentages as electoral
   falsification fingerprints", Annals of Applied Statistics 10(1), 54-73, 2016.
.. [2] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Putin's peaks: Russian election data
   revisited", Significance 15(3), 8-9, 2018.
.. [3] A. Y. Volkova, "A refinement of the central limit theorem for sums of independent random
   indicators", Theory of Probability and its Applications 40(4), 791-794, 1996.
.. [4] Y. Hong, "On computing the distribution function for the Poisson binomial distribution",
   Computational Statistics & Data Analysis 59, 41-51, 2013.

Examples
--------
>>> import numpy as np
>>> p = integer_probability(np.array([200, 1000]), np.array([100, 371]))
>>> [round(float(x), 4) for x in p]     # 100 k/n is whole for even k (n=200), k = 0 mod 10
[0.5, 0.1]
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from .._exceptions import EmptyInputError, SaylauInputError
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._stations import StationArrays, effective_level, group_codes, station_arrays

__all__ = [
    "INTEGER_CAVEAT",
    "IntegerPeaksResult",
    "RegionIntegerPeaks",
    "integer_peaks",
    "integer_probability",
    "is_integer_percentage",
    "poisson_binomial_sf",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Tail mass (log) left out of each station's binomial: e^-32 ~ 1.3e-14.
_LOG_TAIL = 32.0


def _tolerance_fraction(tolerance: float) -> Fraction:
    if not 0 < tolerance < 0.5:
        raise SaylauInputError(
            "tolerance out of range", field="tolerance", expected="0 < t < 0.5", found=tolerance
        )
    return Fraction(str(tolerance)).limit_denominator(10_000)


def is_integer_percentage(k: IntArray, n: IntArray, *, tolerance: float = 0.05) -> BoolArray:
    """Whether ``100 k / n`` lies within ``tolerance`` points of a whole number (exact, inclusive).

    Computed in integer arithmetic: with ``tolerance = a / b``, ``|100 b k - m b n| <= a n``.
    Rows with ``n <= 0`` are False.

    Examples
    --------
    >>> is_integer_percentage(np.array([1, 201, 3]), np.array([200, 2000, 7])).tolist()
    [False, True, False]
    """
    frac = _tolerance_fraction(tolerance)
    a, b = frac.numerator, frac.denominator
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    safe = np.where(n > 0, n, 1)
    r = (100 * b * k) % (b * safe)
    out: BoolArray = (n > 0) & ((r <= a * safe) | (r >= (b - a) * safe))
    return out


def _bernstein_range(n: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rates ``lo <= p <= hi`` outside which a Binomial(n, p) holds less than e^-32 per side.

    Bernstein's inequality for a sum of variables bounded by 1, ``P(|X - n p| >= t) <=
    exp(-t^2 / (2 (n p q + t / 3)))`` per side, solved for the ``t`` that makes it ``e^-32``.
    """
    c = _LOG_TAIL
    t = c / 3.0 + np.sqrt(c * c / 9.0 + 2.0 * c * n * p * (1.0 - p))
    return np.maximum(p - t / n, 0.0), np.minimum(p + t / n, 1.0)


def _ragged(counts: IntArray) -> tuple[IntArray, IntArray]:
    """Row index and offset within the row for a ragged expansion with ``counts`` per row."""
    total = int(counts.sum())
    rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    offsets = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    return rows, offsets


def integer_probability(
    n: IntArray, k: IntArray, *, tolerance: float = 0.05, p: FloatArray | None = None
) -> FloatArray:
    """Exact P(100 X / n is within ``tolerance`` of a whole number) for X ~ Binomial(n, p).

    Parameters
    ----------
    n : array of int
        Trials per station (registered voters, or ballots found), all > 0.
    k : array of int
        Observed successes; the rate is ``p = k / n`` unless ``p`` is given.
    tolerance : float, default 0.05
        Half-width of the window around each whole percentage, in points.
    p : array of float, optional
        Success probabilities (instead of ``k / n``).

    Returns
    -------
    numpy.ndarray
        One probability per station.

    Notes
    -----
    For every whole percentage ``m`` inside the central range of the binomial (all but e^-32 of
    the mass on each side, by Bernstein's inequality) the
    integer counts in ``[ceil((m - t) n / 100), floor((m + t) n / 100)]`` are enumerated and their
    probabilities summed from a table of log-factorials; the omitted mass is below 3e-14.

    Examples
    --------
    >>> float(integer_probability(np.array([100]), np.array([0]))[0])     # always 0 %
    1.0
    """
    n = np.asarray(n, dtype=np.int64)
    if np.any(n <= 0):
        raise SaylauInputError("trials must be positive", field="n", expected="> 0", found=n.min())
    rate = np.asarray(k, dtype=np.float64) / n if p is None else np.asarray(p, dtype=np.float64)
    rate = np.clip(rate, 0.0, 1.0)
    frac = _tolerance_fraction(tolerance)
    a, b = frac.numerator, frac.denominator
    if n.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    lo, hi = _bernstein_range(n.astype(np.float64), rate)
    m_lo = np.maximum(np.floor(100 * lo).astype(np.int64) - 1, 0)
    m_hi = np.minimum(np.ceil(100 * hi).astype(np.int64) + 1, 100)
    st, off = _ragged(m_hi - m_lo + 1)
    m = m_lo[st] + off
    nn = n[st]
    # k in window m:  (m b - a) n <= 100 b k <= (m b + a) n
    k_lo = np.maximum(-((-(m * b - a) * nn) // (100 * b)), 0)
    k_hi = np.minimum(((m * b + a) * nn) // (100 * b), nn)
    width = np.maximum(k_hi - k_lo + 1, 0)
    pair, off2 = _ragged(width)
    kk = k_lo[pair] + off2
    st2 = st[pair]
    big_n = n[st2]
    log_fact = special.gammaln(np.arange(int(n.max()) + 1, dtype=np.float64) + 1.0)
    tiny = np.finfo(np.float64).tiny
    log_p = np.log(np.maximum(rate, tiny))
    log_q = np.log(np.maximum(1.0 - rate, tiny))
    log_pmf = (
        log_fact[big_n]
        - log_fact[kk]
        - log_fact[big_n - kk]
        + kk * log_p[st2]
        + (big_n - kk) * log_q[st2]
    )
    prob = np.bincount(st2, weights=np.exp(log_pmf), minlength=n.shape[0])
    return np.clip(prob, 0.0, 1.0)


def poisson_binomial_sf(
    x: float | FloatArray, mean: float, var: float, third: float
) -> float | FloatArray:
    """P(N >= x) for a Poisson-binomial N, by the refined normal approximation (Volkova 1996).

    Parameters
    ----------
    x : float or array
        Counts (whole numbers).
    mean, var, third : float
        ``sum p``, ``sum p (1 - p)`` and ``sum p (1 - p) (1 - 2 p)`` over the Bernoulli terms.

    Examples
    --------
    >>> # no skew: the continuity-corrected normal tail 1 - Phi((59.5 - 50) / 5) = 1 - Phi(1.9)
    >>> round(float(poisson_binomial_sf(60, 50.0, 25.0, 0.0)), 4)  # (exact binomial: 0.0284)
    0.0287
    """
    if var <= 0:
        out = np.where(np.asarray(x, dtype=np.float64) <= mean, 1.0, 0.0)
        return float(out) if np.ndim(out) == 0 else out
    sd = math.sqrt(var)
    gamma = third / sd**3
    t = (np.asarray(x, dtype=np.float64) - 0.5 - mean) / sd
    sf = stats.norm.sf(t) - gamma * (1.0 - t * t) * stats.norm.pdf(t) / 6.0
    sf = np.clip(sf, 0.0, 1.0)
    return float(sf) if np.ndim(sf) == 0 else sf


def _threshold(mean: float, var: float, third: float, level: float) -> float:
    """Smallest whole count c with P(N >= c) <= 1 - level, returned as the excess c - mean."""
    if var <= 0:
        return 0.0
    sd = math.sqrt(var)
    z = float(stats.norm.isf(1.0 - level))
    lo = math.floor(mean + (z - 3.0) * sd)
    hi = math.ceil(mean + (z + 3.0) * sd) + 2
    grid = np.arange(max(lo, 0), hi + 1, dtype=np.float64)
    sf = np.asarray(poisson_binomial_sf(grid, mean, var, third))
    ok = np.nonzero(sf <= 1.0 - level)[0]
    c = grid[ok[0]] if ok.size else grid[-1]
    return float(c - mean)


@dataclasses.dataclass(frozen=True)
class RegionIntegerPeaks(Result):
    """The integer test in one unit (region)."""

    region: str
    stations: int
    observed: int
    expected: float
    excess: float
    null_sd: float
    z: float
    pvalue: float
    excess_turnout: float
    excess_leader: float
    share_of_excess: float
    pvalue_holm: float = math.nan
    finding: Finding = dataclasses.field(
        default_factory=lambda: Finding(alarm=False, kind="test", caveats=(INTEGER_CAVEAT,))
    )


@dataclasses.dataclass(frozen=True)
class IntegerPeaksResult(Result):
    """Integer-percentage excess, with its exact null's moments and a one-sided test.

    The "either" figures (a station integer in turnout or in leader share) are the headline:
    ``excess_stations``, ``null_sd``, ``z``, ``pvalue``. ``threshold`` is the excess above which
    the null has less than ``1 - level`` probability (Kobak's 99.9th percentile); ``alarm`` says
    whether the observed excess reaches it. ``by_region`` ranks the units by excess (largest
    first), each with its Holm-adjusted p-value and finding (Holm over ``units_tested``), and
    ``drivers`` lists the fewest top units that together make half the positive excess.

    ``integer_votes`` is Cedar's integer-votes estimate: the leader's votes at the stations with
    an integer leader share beyond what the share of their neighbours (the non-integer stations
    of the same lowest-level commission, ``neighbours``) implies, less what chance integer
    stations contribute under the exact null (``Σ (1[integer] - p) × (leader - cast × share of
    the neighbours)``, ``p`` each station's chance of an integer share); ``integer_votes_se``
    is its standard error under that null. ``finding`` is the alarm: ``pvalue < alpha``.
    """

    leader: str
    tolerance: float
    stations: int
    observed_turnout: int
    observed_leader: int
    observed_either: int
    expected_turnout: float
    expected_leader: float
    expected_either: float
    excess_turnout: float
    excess_leader: float
    excess_stations: float
    null_sd_turnout: float
    null_sd_leader: float
    null_sd: float
    statistic: float
    z: float
    pvalue: float
    level: float
    threshold: float
    alarm: bool
    excluded: dict[str, int]
    data_quality: dict[str, int]
    by_region: tuple[RegionIntegerPeaks, ...]
    drivers: tuple[str, ...]
    method: str
    pvalue_method: str
    caveat: str
    integer_votes: float = math.nan
    integer_votes_se: float = math.nan
    integer_votes_stations: int = 0
    neighbours: str = ""
    units_tested: int = 0
    finding: Finding = dataclasses.field(
        default_factory=lambda: Finding(alarm=False, kind="test", caveats=(INTEGER_CAVEAT,))
    )

    @property
    def nobs(self) -> int:
        """Stations tested."""
        return self.stations


INTEGER_CAVEAT = (
    "An excess of integer percentages shows that more stations report round turnouts or leader "
    "shares than honest counting would; it does not measure how many votes were changed (the "
    "integer-votes figure is an estimate under the assumption that such stations would "
    "otherwise vote like their neighbours)."
)
_CAVEAT = INTEGER_CAVEAT


def integer_peaks(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    by: str | None = "region",
    tolerance: float = 0.05,
    min_registered: int = 100,
    max_rate: float = 0.99,
    level: float = 0.999,
    alpha: float = 0.01,
    rng: int | np.random.Generator | None = None,
) -> IntegerPeaksResult:
    """Count the stations at integer percentages against their exact binomial null.

    Parameters
    ----------
    table : ProtocolTable
        Precinct protocols (registered, ballots issued, valid, invalid, the leader's votes).
    leader : str, Choice or None
        The leading choice; default the contender with most votes.
    by : str or None, default "region"
        Hierarchy level for the per-unit results (``None``: national only).
    tolerance : float, default 0.05
        Window around whole percentages, in points.
    min_registered : int, default 100
        Smallest station tested (tiny stations hit round percentages honestly).
    max_rate : float, default 0.99
        Largest turnout and leader share tested.
    level : float, default 0.999
        Quantile of the null reported as ``threshold`` (Kobak's 99.9th percentile).
    alpha : float, default 0.01
        Level of the alarm (``pvalue < alpha``), nationally and per unit after Holm.
    rng : int or Generator, optional
        Unused: the null is exact. Accepted so that every method has the same signature.

    Returns
    -------
    IntegerPeaksResult

    Raises
    ------
    EmptyInputError
        No station meets the inclusion rules.

    References
    ----------
    D. Kobak, S. Shpilkin, M. S. Pshenichnikov, Annals of Applied Statistics 10(1), 2016.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from saylau.domain.table import ProtocolTable
    >>> g = np.random.default_rng(0)
    >>> reg = g.integers(500, 2500, 400)
    >>> iss = g.binomial(reg, 0.6); lead = g.binomial(iss, 0.5)
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(400)], "voters_on_list": reg, "issued": iss,
    ...     "invalid": np.zeros(400, int), "valid": iss, "A": lead, "B": iss - lead}),
    ...     profile="plain", choices=["A", "B"])
    >>> r = integer_peaks(t)
    >>> r.stations, r.alarm, abs(r.z) < 3
    (400, False, True)
    """
    del rng  # exact null: nothing random
    by = effective_level(table, by)
    arr = station_arrays(table, leader=leader, level=by)
    reg, iss, cast, lead = arr.registered, arr.issued, arr.cast, arr.leader
    excluded = {
        "no_ballots_found": int((cast <= 0).sum()),
        "registered_below_min": int(((cast > 0) & (reg < min_registered)).sum()),
    }
    base = (cast > 0) & (reg >= min_registered)
    # rates compared exactly: issued / registered > max_rate  <=>  q * issued > p * registered
    rate = Fraction(str(max_rate)).limit_denominator(10_000)
    num, den = rate.numerator, rate.denominator
    t_hi = base & (den * iss > num * reg)
    excluded["turnout_above_max"] = int(t_hi.sum())
    l_hi = base & ~t_hi & (den * lead > num * cast)
    excluded["leader_share_above_max"] = int(l_hi.sum())
    keep = base & ~t_hi & ~l_hi
    if not keep.any():
        raise EmptyInputError(
            "no station meets the integer test's inclusion rules",
            file=table.source,
            expected=f"valid+invalid > 0, registered >= {min_registered}, rates <= {max_rate}",
            found=f"{len(arr)} usable stations",
        )
    reg, iss, cast, lead = reg[keep], iss[keep], cast[keep], lead[keep]
    region = arr.region[keep]
    neighbours, units = _neighbour_units(table, arr, by)
    units = units[keep]

    obs_t = is_integer_percentage(iss, reg, tolerance=tolerance)
    obs_l = is_integer_percentage(lead, cast, tolerance=tolerance)
    p_t = integer_probability(reg, iss, tolerance=tolerance)
    p_l = integer_probability(cast, lead, tolerance=tolerance)
    p_e = p_t + p_l - p_t * p_l
    obs_e = obs_t | obs_l

    def moments(p: FloatArray) -> tuple[float, float, float]:
        q = p * (1 - p)
        return float(p.sum()), float(q.sum()), float((q * (1 - 2 * p)).sum())

    mean_e, var_e, third_e = moments(p_e)
    mean_t, var_t, _ = moments(p_t)
    mean_l, var_l, _ = moments(p_l)
    n_obs = int(obs_e.sum())
    sd_e = math.sqrt(var_e)
    z = (n_obs - mean_e) / sd_e if sd_e > 0 else math.nan
    pvalue = float(poisson_binomial_sf(float(n_obs), mean_e, var_e, third_e))
    threshold = _threshold(mean_e, var_e, third_e, level)

    regions: tuple[RegionIntegerPeaks, ...] = ()
    drivers: tuple[str, ...] = ()
    if by is not None:
        regions, drivers = _by_region(region, obs_t, obs_l, obs_e, p_t, p_l, p_e, alpha)
    iv, iv_se = _integer_votes(lead, cast, obs_l, p_l, units)
    alarm = bool(pvalue < alpha) if sd_e > 0 else False

    return IntegerPeaksResult(
        leader=arr.leader_name,
        tolerance=tolerance,
        stations=int(keep.sum()),
        observed_turnout=int(obs_t.sum()),
        observed_leader=int(obs_l.sum()),
        observed_either=n_obs,
        expected_turnout=mean_t,
        expected_leader=mean_l,
        expected_either=mean_e,
        excess_turnout=float(obs_t.sum()) - mean_t,
        excess_leader=float(obs_l.sum()) - mean_l,
        excess_stations=n_obs - mean_e,
        null_sd_turnout=math.sqrt(var_t),
        null_sd_leader=math.sqrt(var_l),
        null_sd=sd_e,
        statistic=z,
        z=z,
        pvalue=pvalue,
        level=level,
        threshold=threshold,
        alarm=alarm,
        excluded=excluded,
        data_quality=dict(arr.quality.counts),
        by_region=regions,
        drivers=drivers,
        method="integer percentages (Kobak, Shpilkin & Pshenichnikov 2016), exact binomial null",
        pvalue_method="one-sided; refined normal approximation to the Poisson-binomial null "
        "(Volkova 1996)",
        caveat=_CAVEAT,
        integer_votes=iv,
        integer_votes_se=iv_se,
        integer_votes_stations=int(obs_l.sum()),
        neighbours=neighbours,
        units_tested=len(regions),
        finding=Finding(
            alarm=alarm,
            kind="test",
            level=alpha,
            pvalue=pvalue,
            correction="none",
            calibration="exact binomial null (no simulation); simulated clean elections in "
            "tests/forensics/test_integer_peaks.py",
            caveats=(INTEGER_CAVEAT,),
        ),
    )


def _neighbour_units(
    table: ProtocolTable, arr: StationArrays, by: str | None
) -> tuple[str, IntArray]:
    """Each usable station's neighbourhood for the integer-votes estimate: its lowest-level
    commission with three stations or more on average (named by its path of levels, since
    names repeat across regions; the station level itself is skipped), else the whole table."""
    import polars as pl

    del by
    usable = arr.quality.usable
    n = int(usable.sum())
    levels = list(table.levels)
    for depth in range(len(levels), 0, -1):
        path = levels[:depth]
        # the same strings as ProtocolTable.level_values, joined in Polars; hash-based codes of
        # the path (no string sort): the order of the units does not matter here
        labels = [pl.col(lv).cast(pl.Utf8).fill_null("") for lv in path]
        codes = (
            table.frame.select(pl.concat_str(labels, separator=" / ").alias("u"))
            .filter(pl.Series(usable))
            .get_column("u")
            .cast(pl.Categorical)
            .to_physical()
            .to_numpy()
            .astype(np.int64)
        )
        units = int(codes.max()) + 1 if codes.size else 0
        if units * 3 <= n:
            _, dense = np.unique(codes, return_inverse=True)
            return " / ".join(path), dense.astype(np.int64)
    return "all stations", np.zeros(n, dtype=np.int64)


def _integer_votes(
    lead: IntArray, cast: IntArray, integer: BoolArray, p_int: FloatArray, units: IntArray
) -> tuple[float, float]:
    """Cedar's integer-votes estimate and its standard error (see IntegerPeaksResult).

    Each station's residual ``leader - cast × (share of the non-integer stations of its
    commission)``, summed over the integer stations minus its expectation under the null
    (each station weighted by its own chance ``p`` of an integer share: small stations hit
    integers honestly more often, and may vote unlike their neighbours); standard error
    ``sqrt(Σ p (1 - p) residual²)``.
    """
    if not integer.any():
        return 0.0, 0.0
    other = ~integer
    g = int(units.max()) + 1
    lf, cf = lead.astype(np.float64), cast.astype(np.float64)
    l_u = np.bincount(units, weights=np.where(other, lf, 0.0), minlength=g)
    c_u = np.bincount(units, weights=np.where(other, cf, 0.0), minlength=g)
    overall = float(lf[other].sum() / cf[other].sum()) if other.any() else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        share_u = np.where(c_u > 0, l_u / c_u, overall)
    resid = lf - cf * share_u[units]
    est = float(((integer.astype(np.float64) - p_int) * resid).sum())
    se = math.sqrt(float((p_int * (1.0 - p_int) * resid * resid).sum()))
    return est, se


def _by_region(
    region: npt.NDArray[np.object_],
    obs_t: BoolArray,
    obs_l: BoolArray,
    obs_e: BoolArray,
    p_t: FloatArray,
    p_l: FloatArray,
    p_e: FloatArray,
    alpha: float = 0.01,
) -> tuple[tuple[RegionIntegerPeaks, ...], tuple[str, ...]]:
    from statsmodels.stats.multitest import multipletests

    names, codes = group_codes(region)
    g = len(names)

    def s(w: npt.NDArray[np.generic]) -> FloatArray:
        return np.bincount(codes, weights=w.astype(np.float64), minlength=g).astype(np.float64)

    q = p_e * (1 - p_e)
    n = np.bincount(codes, minlength=g).astype(np.int64)
    obs, mean, var, third = s(obs_e), s(p_e), s(q), s(q * (1 - 2 * p_e))
    ex_t, ex_l = s(obs_t) - s(p_t), s(obs_l) - s(p_l)
    excess = obs - mean
    positive = float(excess[excess > 0].sum())
    pvals = np.array(
        [float(poisson_binomial_sf(obs[i], mean[i], var[i], third[i])) for i in range(g)]
    )
    holm = multipletests(pvals, method="holm")[1] if g else pvals
    correction = f"Holm over {g} units"
    rows = []
    for i, name in enumerate(names):
        sd = math.sqrt(var[i])
        rows.append(
            RegionIntegerPeaks(
                region=name,
                stations=int(n[i]),
                observed=round(float(obs[i])),
                expected=float(mean[i]),
                excess=float(excess[i]),
                null_sd=sd,
                z=float(excess[i] / sd) if sd > 0 else math.nan,
                pvalue=float(pvals[i]),
                excess_turnout=float(ex_t[i]),
                excess_leader=float(ex_l[i]),
                share_of_excess=float(excess[i] / positive) if positive > 0 else 0.0,
                pvalue_holm=float(holm[i]),
                finding=Finding(
                    alarm=bool(holm[i] < alpha),
                    kind="test",
                    level=alpha,
                    pvalue=float(pvals[i]),
                    correction=correction,
                    calibration="exact binomial null (no simulation)",
                    caveats=(INTEGER_CAVEAT,),
                ),
            )
        )
    rows.sort(key=lambda r: (-r.excess, r.region))
    drivers: list[str] = []
    acc = 0.0
    for r in rows:
        if r.excess <= 0 or acc >= 0.5 * positive:
            break
        drivers.append(r.region)
        acc += r.excess
    return tuple(rows), tuple(drivers)
