"""Shpilkin's excess-vote estimate: the leader's votes above the "clean" turnout peak.

In an honest election the votes for every choice are distributed over turnout roughly alike: the
curves of votes per 1 % turnout bin have the same shape. Ballot stuffing and written-in results
add votes for the leader *and* turnout at the same time, so the leader's curve grows a long tail
towards high turnout that the others' curve does not have. Shpilkin's method takes the peak of
the others' curve as the clean part of the election, scales the others' curve to the leader's at
that bin, and counts the leader's votes above the scaled curve as anomalous:

1. stations with more than ``min_registered`` (100) registered voters; turnout
   ``T = (valid + invalid) / registered``; bin ``b`` (0-99) holds ``b/100 < T <= (b+1)/100``
   (stations with no ballots or with ``T > 1`` fall in no bin);
2. ``L_b`` = the leader's votes and ``O_b`` = the other ballots (``valid + invalid - leader``) per
   bin;
3. the peak bin ``b*``: smooth ``O`` with a 5-point box filter, fit a sum of two Gaussians to it
   (least squares), and take the bin where the smoothed curve is highest within one standard
   deviation of the lower-turnout Gaussian (the clean mode; the upper one absorbs the tail); on a
   curve with a single mode, where the second Gaussian degenerates, one Gaussian is fitted
   instead; if that fails too, the highest bin of the smoothed curve (with a warning); the
   result says which. A peak must be *plausible* (:func:`plausible_bins`: ballots for the
   others there, at least half the height of the smoothed curve's highest mode, turnout
   below 90 %); an implausible one (a bin where the others' curve is empty, a bump in a tail,
   the heap of electronic-voting pseudo-stations or drawn results at the far end of the axis)
   is shifted to the highest plausible bin (method ``"...-shifted"``), and where no bin is
   plausible the method is *not applicable*: no estimate, a warning, and the finding says so
   (Cedar's regional tables print "N/A" there). Per region this reproduces Cedar's published
   tables to the vote in 239 of the 257 region-years of 2004-2021 where they give a number;
4. ``k = L_b* / O_b*`` and anomalous votes ``= sum_b L_b - k sum_b O_b``.

The alarm (``finding``) does not test the national estimate, which regional differences alone
make large on clean elections (about 10 million votes on clean elections simulated from Russia
2011's regional levels): it tests the method's assumption where those differences are gone,
inside the finest territorial unit of the file (:mod:`saylau.forensics.shpilkin_within`: the
within-unit slope of the leader's share on turnout, cluster-robust, one-sided at ``alpha`` =
0.01). The per-region estimates keep their own test (a positive excess at the least favourable
shift of the peak against the sampling error, Holm over the regions where the method applies).

The peak bin can be given. The estimate always comes with its **sensitivity** to moving the
peak bin by 1-3 bins either way (the main source of doubt), and with a sampling standard error
(delta method over stations; it ignores the choice of the peak bin). A negative estimate means
no excess (it is a statistical error, not negative fraud).

What it can and cannot show: the estimate assumes that without fraud the leader's share would
not depend on turnout above the peak. Where honest high-turnout areas vote differently (ethnic
republics, company towns) it counts their votes as anomalous; where fraud also inflates the
peak bin it undercounts. A stuffed ballot adds one vote to the estimate, but a vote *moved* from
another choice to the leader adds ``1 + k`` (it raises ``sum L`` and lowers ``sum O``). Treat it
as an order of magnitude.

References
----------
.. [1] Cedar, "How to uncover electoral fraud in Russia using statistics: a complete guide",
   2024 (cedarus.io); code and per-election totals: GitHub ``Cedar-Russia/electoral_statistics``.
   The method is Sergey Shpilkin's, applied by him to every Russian federal election since 2007.
.. [2] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Statistical fingerprints of electoral
   fraud?", Significance 13(4), 20-23, 2016.

Examples
--------
>>> import numpy as np
>>> leader_b = np.zeros(100); others_b = np.zeros(100)
>>> leader_b[50], others_b[50] = 500.0, 500.0     # clean peak: k = 1
>>> leader_b[90], others_b[90] = 300.0, 100.0     # a stuffed tail
>>> excess_from_bins(leader_b, others_b, 50)
200.0
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from .._exceptions import EmptyInputError, SaylauInputError, SaylauWarning
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._stations import effective_level, group_codes, station_arrays
from .shpilkin_within import WithinUnitTest, within_unit_by, within_unit_test

__all__ = [
    "ExcessVotesResult",
    "RegionExcessVotes",
    "excess_from_bins",
    "excess_votes",
    "find_peak_bin",
    "turnout_bins",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

N_BINS = 100


def turnout_bins(cast: IntArray, registered: IntArray) -> IntArray:
    """Bin ``b`` with ``b/100 < cast/registered <= (b+1)/100``, in exact integer arithmetic.

    Stations with no ballots get -1 and stations above 100 % get 100 or more.

    Examples
    --------
    >>> turnout_bins(np.array([0, 1, 50, 51, 100, 101]), np.array([100] * 6)).tolist()
    [-1, 0, 49, 50, 99, 100]
    """
    cast = np.asarray(cast, dtype=np.int64)
    registered = np.asarray(registered, dtype=np.int64)
    out: IntArray = (100 * cast + registered - 1) // registered - 1
    return out


def excess_from_bins(leader: FloatArray, others: FloatArray, peak_bin: int) -> float:
    """``sum L - (L[b*] / O[b*]) sum O``; NaN when the peak bin has no other ballots."""
    if not 0 <= peak_bin < leader.shape[0] or others[peak_bin] <= 0:
        return math.nan
    k = leader[peak_bin] / others[peak_bin]
    return float(leader.sum() - k * others.sum())


def _box(x: FloatArray, width: int) -> FloatArray:
    out: FloatArray = np.convolve(x, np.ones(width) / width, mode="same")
    return out


def _two_gauss(
    x: FloatArray, a1: float, m1: float, s1: float, a2: float, m2: float, s2: float
) -> FloatArray:
    out: FloatArray = a1 * np.exp(-0.5 * ((x - m1) / s1) ** 2) + a2 * np.exp(
        -0.5 * ((x - m2) / s2) ** 2
    )
    return out


def _two_gauss_jac(
    x: FloatArray, a1: float, m1: float, s1: float, a2: float, m2: float, s2: float
) -> FloatArray:
    cols = []
    for a, m, sd in ((a1, m1, s1), (a2, m2, s2)):
        u = (x - m) / sd
        e = np.exp(-0.5 * u * u)
        cols += [e, a * e * u / sd, a * e * u * u / sd]
    return np.stack(cols, axis=1)


def find_peak_bin(others: FloatArray, *, smooth: int = 5) -> tuple[int, str, tuple[float, ...]]:
    """The clean peak of the others' curve: the smoothed curve's highest bin within one standard
    deviation of the lower of two Gaussians fitted to it.

    Parameters
    ----------
    others : array of 100 floats
        Others' ballots per 1 % turnout bin.
    smooth : int, default 5
        Width of the box filter.

    Returns
    -------
    peak : int
    how : str
        ``"two-gaussian"``; ``"one-gaussian"`` when the curve has one mode and the second
        Gaussian degenerates; ``"argmax"`` (the smoothed curve's maximum) when both fits fail.
    params : tuple
        The lower Gaussian's (amplitude, mean, sd) and the upper one's; empty on fallback.

    Examples
    --------
    >>> x = np.arange(100.0)
    >>> curve = 1000 * np.exp(-0.5 * ((x - 40) / 6) ** 2)
    >>> curve += 300 * np.exp(-0.5 * ((x - 70) / 15) ** 2)
    >>> find_peak_bin(curve)[:2]
    (40, 'two-gaussian')
    """
    o = np.asarray(others, dtype=np.float64)
    if not np.any(o > 0):
        raise EmptyInputError("no ballots for the others in any turnout bin", field="others")
    s = _box(o, smooth) if smooth > 1 else o
    x = np.arange(o.shape[0], dtype=np.float64)
    top = int(np.argmax(s))
    peak_height = float(s[top])
    plausible = plausible_bins(o, smooth=smooth)
    p0 = [peak_height, float(top), 8.0, peak_height / 3.0, float(min(top + 20, 95)), 15.0]
    found: tuple[int, str, tuple[float, ...]] | None = None
    fitted = _fit(_two_gauss, _two_gauss_jac, x, s, p0)
    if fitted is not None:
        g1, g2 = fitted[:3], fitted[3:]
        lo_g, hi_g = (g1, g2) if g1[1] <= g2[1] else (g2, g1)
        peak = _peak_in(s, x, lo_g)
        if peak is not None:
            found = (peak, "two-gaussian", (*lo_g, *hi_g))
    if found is None:
        # a unimodal curve (a clean election) leaves the second Gaussian degenerate: fit one
        fitted = _fit(_one_gauss, _one_gauss_jac, x, s, p0[:3])
        if fitted is not None:
            peak = _peak_in(s, x, fitted)
            if peak is not None:
                found = (peak, "one-gaussian", fitted)
    if found is None:
        found = (top, "argmax", ())
    peak, how, params = found
    if plausible[peak]:
        return peak, how, params
    # an implausible peak (no other ballots there, a minor bump, or the far end of the turnout
    # axis): shifted to the highest plausible bin of the smoothed curve, as Cedar shifts them
    if plausible.any():
        idx = np.flatnonzero(plausible)
        return int(idx[np.argmax(s[idx])]), how + "-shifted", params
    return -1, "not-applicable", params


def plausible_bins(
    others: FloatArray, *, smooth: int = 5, min_height: float = 0.5, max_bin: int = 90
) -> npt.NDArray[np.bool_]:
    """Bins that may serve as the clean peak of the others' curve.

    A plausible peak has ballots for the others, a smoothed height at least ``min_height`` of
    the smoothed curve's maximum (a major mode, not a bump in a tail), and lies below
    ``max_bin`` (turnouts above 90 % are where drawn results and electronic-voting
    pseudo-stations pile up, never a clean mode).

    Examples
    --------
    >>> o = np.zeros(100); o[40:45] = 100.0; o[97] = 1000.0; o[60] = 20.0
    >>> np.flatnonzero(plausible_bins(o, smooth=1)).tolist()   # not 97, nor the bump at 60
    [40, 41, 42, 43, 44]
    """
    o = np.asarray(others, dtype=np.float64)
    s = _box(o, smooth) if smooth > 1 else o
    below = np.arange(o.shape[0]) < max_bin
    top = float(s[below].max()) if below.any() else 0.0
    ok = (o > 0) & (s >= min_height * top) & below & (s > 0)
    return np.asarray(ok, dtype=bool)


def _one_gauss(x: FloatArray, a: float, m: float, sd: float) -> FloatArray:
    out: FloatArray = a * np.exp(-0.5 * ((x - m) / sd) ** 2)
    return out


def _one_gauss_jac(x: FloatArray, a: float, m: float, sd: float) -> FloatArray:
    u = (x - m) / sd
    e = np.exp(-0.5 * u * u)
    return np.stack([e, a * e * u / sd, a * e * u * u / sd], axis=1)


def _fit(
    f: Callable[..., FloatArray],
    jac: Callable[..., FloatArray],
    x: FloatArray,
    y: FloatArray,
    p0: list[float],
) -> tuple[float, ...] | None:
    """Least-squares Gaussian(s) (Levenberg-Marquardt); None when it fails or degenerates."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = optimize.curve_fit(f, x, y, p0=p0, jac=jac, method="lm", maxfev=2_000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return None
    params = np.asarray(params, dtype=np.float64)
    if not np.all(np.isfinite(params)):
        return None
    params[2::3] = np.abs(params[2::3])
    return tuple(float(v) for v in params)


def _peak_in(s: FloatArray, x: FloatArray, gauss: tuple[float, ...]) -> int | None:
    """The highest bin of ``s`` within one sd of the Gaussian's mean, if the Gaussian is sane."""
    amp, mean, sd = gauss[:3]
    if not (amp > 0 and sd >= 0.5 and -10 <= mean <= 110):
        return None
    idx = np.nonzero((x >= mean - sd) & (x <= mean + sd))[0]
    if idx.size == 0:
        return None
    return int(idx[np.argmax(s[idx])])


@dataclasses.dataclass(frozen=True)
class RegionExcessVotes(Result):
    """Shpilkin's estimate in one unit (region), with its own automatic peak bin."""

    region: str
    stations: int
    estimate: float
    peak_bin: int
    peak_method: str
    sensitivity: dict[int, float]
    leader_votes: float
    share_of_leader: float
    std_err: float = math.nan
    pvalue: float = math.nan
    pvalue_holm: float = math.nan
    finding: Finding = dataclasses.field(
        default_factory=lambda: Finding(alarm=False, kind="test", caveats=(_CAVEAT,))
    )
    within: WithinUnitTest | None = None
    sampling_pvalue: float = math.nan


@dataclasses.dataclass(frozen=True)
class ExcessVotesResult(Result):
    """Shpilkin's anomalous-vote estimate, its peak bin, sensitivity and sampling error.

    ``sensitivity`` maps a shift of the peak bin (-3..+3) to the estimate with that bin;
    ``sensitivity_range`` is its (min, max). ``std_err`` is the delta-method sampling error at
    the chosen bin (stations resampled; the peak bin held fixed). ``leader_by_bin`` and
    ``others_by_bin`` are the two curves (100 bins), for plots. ``within`` is the alarm's test
    (the leader's share against turnout inside territorial units) and ``pvalue`` its p-value;
    ``sampling_pvalue`` is the national estimate against its sampling error alone, which is no
    alarm (regional differences make it tiny on clean elections).
    """

    leader: str
    estimate: float
    std_err: float
    peak_bin: int
    peak_method: str
    ratio: float
    sensitivity: dict[int, float]
    sensitivity_range: tuple[float, float]
    stations: int
    leader_votes: float
    others_votes: float
    share_of_leader: float
    leader_by_bin: tuple[float, ...]
    others_by_bin: tuple[float, ...]
    gaussians: tuple[float, ...]
    excluded: dict[str, int]
    data_quality: dict[str, int]
    by_region: tuple[RegionExcessVotes, ...]
    method: str
    caveat: str
    pvalue: float = math.nan
    units_tested: int = 0
    within: WithinUnitTest | None = None
    sampling_pvalue: float = math.nan
    finding: Finding = dataclasses.field(
        default_factory=lambda: Finding(alarm=False, kind="test", caveats=(_CAVEAT,))
    )

    @property
    def nobs(self) -> int:
        """Stations used."""
        return self.stations

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Interval spanning the peak-bin sensitivity range widened by the sampling error."""
        from scipy import stats

        q = float(stats.norm.ppf(1 - alpha / 2))
        lo, hi = self.sensitivity_range
        return (lo - q * self.std_err, hi + q * self.std_err)


_CAVEAT = (
    "Assumes the leader's share would not rise with turnout without fraud; honest high-turnout "
    "areas that favour the leader are counted as anomalous. An order of magnitude, not a count."
)
_WITHIN_CAVEAT = (
    "the alarm tests that assumption inside {units:,} territorial units ({level}), where "
    "regional differences are gone: the leader's share changes by {slope:+.1f} points per 10 "
    "points of turnout within them (z = {z:.1f}); it assumes that inside a unit honest "
    "turnout and share are not positively associated (on the clean Polish control the share "
    "falls with turnout inside communes); a unit that mixes high-turnout places favouring the "
    "leader with low-turnout places favouring the others can raise it without fraud"
)
_UNTESTED_CAVEAT = (
    "no alarm possible: the file has no territorial level with several stations per unit, so "
    "a rise of the share with turnout cannot be told from regional differences"
)


def _within_caveat(w: WithinUnitTest) -> str:
    if not w.tested:
        return _UNTESTED_CAVEAT
    return _WITHIN_CAVEAT.format(units=w.units, level=w.level, slope=10 * w.slope, z=w.statistic)


_NA_CAVEAT = (
    "not applicable: no plausible clean peak of the others' curve (no estimate; Cedar reports "
    "N/A, which usually means mass falsification)"
)


@dataclasses.dataclass(frozen=True)
class _Curves:
    leader: FloatArray
    others: FloatArray
    bins: IntArray
    lead: FloatArray
    oth: FloatArray


def _curves(bins: IntArray, lead: IntArray, others: IntArray) -> _Curves:
    inside = (bins >= 0) & (bins < N_BINS)
    b = bins[inside]
    lw = lead[inside].astype(np.float64)
    ow = others[inside].astype(np.float64)
    return _Curves(
        leader=np.bincount(b, weights=lw, minlength=N_BINS).astype(np.float64),
        others=np.bincount(b, weights=ow, minlength=N_BINS).astype(np.float64),
        bins=b,
        lead=lw,
        oth=ow,
    )


def _sensitivity(c: _Curves, peak: int, spread: int) -> dict[int, float]:
    return {d: excess_from_bins(c.leader, c.others, peak + d) for d in range(-spread, spread + 1)}


def _std_err(c: _Curves, peak: int) -> float:
    """Delta-method standard error of sum L - (L_b*/O_b*) sum O over resampled stations."""
    d = c.others[peak]
    if d <= 0 or c.bins.shape[0] < 2:
        return math.nan
    k = c.leader[peak] / d
    total_o = c.others.sum()
    resid = c.lead - k * c.oth
    infl = resid - (total_o / d) * np.where(c.bins == peak, resid, 0.0)
    n = infl.shape[0]
    return float(math.sqrt(n * float(np.var(infl, ddof=1))))


def excess_votes(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    peak_bin: int | None = None,
    by: str | None = "region",
    min_registered: int = 100,
    smooth: int = 5,
    spread: int = 3,
    alpha: float = 0.01,
    within: str | None = "auto",
    rng: int | np.random.Generator | None = None,
) -> ExcessVotesResult:
    """Shpilkin's estimate of the leader's anomalous votes, nationally and per region.

    Parameters
    ----------
    table : ProtocolTable
        Precinct protocols.
    leader : str, Choice or None
        The leading choice; default the contender with most votes.
    peak_bin : int, optional
        The clean peak bin (0-99); found automatically when not given. Per-region peaks are
        always automatic.
    by : str or None, default "region"
        Level of the per-unit results (``None``: national only).
    min_registered : int, default 100
        Stations with more registered voters than this are used.
    smooth : int, default 5
        Box-filter width for the automatic peak.
    spread : int, default 3
        Report the estimate with the peak bin moved by up to this many bins.
    alpha : float, default 0.01
        Level of the alarm: the leader's share rising with turnout inside the units of
        ``within`` (:func:`~saylau.forensics.shpilkin_within.within_unit_test`); per region, a
        positive excess at the least favourable peak shift, one-sided against the sampling
        error, after Holm over the regions where the method applies.
    within : str or None, default "auto"
        Unit level of the alarm's within-unit test (``"auto"``: the finest level with three or
        more stations per unit on average; ``None``: no alarm).
    rng : int or Generator, optional
        Unused (the method is deterministic); accepted for a uniform signature.

    Returns
    -------
    ExcessVotesResult

    Raises
    ------
    EmptyInputError
        No station with ballots and more than ``min_registered`` voters.
    SaylauInputError
        ``peak_bin`` outside 0-99 or on a bin without other ballots.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from saylau.domain.table import ProtocolTable
    >>> g = np.random.default_rng(1)
    >>> reg = g.integers(800, 2000, 3000)
    >>> cast = g.binomial(reg, np.clip(g.normal(0.55, 0.06, 3000), 0.05, 0.95))
    >>> lead = g.binomial(cast, 0.5)
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(3000)], "voters_on_list": reg, "issued": cast,
    ...     "invalid": np.zeros(3000, int), "valid": cast, "A": lead, "B": cast - lead}),
    ...     profile="plain", choices=["A", "B"])
    >>> r = excess_votes(t, leader="A")
    >>> 50 <= r.peak_bin <= 60, abs(r.estimate) < 4 * r.std_err + 0.02 * r.leader_votes
    (True, True)
    """
    del rng
    by = effective_level(table, by)
    arr = station_arrays(table, leader=leader, level=by)
    reg, cast, lead = arr.registered, arr.cast, arr.leader
    use = reg > min_registered
    excluded = {"registered_at_most_min": int((~use).sum())}
    reg, cast, lead, region = reg[use], cast[use], lead[use], arr.region[use]
    bins = turnout_bins(cast, reg) if reg.size else np.zeros(0, dtype=np.int64)
    excluded["no_ballots"] = int((bins < 0).sum())
    excluded["turnout_above_100"] = int((bins >= N_BINS).sum())
    others = cast - lead
    c = _curves(bins, lead, others)
    if not np.any(c.others > 0):
        raise EmptyInputError(
            "no station with ballots for the others in the turnout bins",
            file=table.source,
            expected=f"stations with > {min_registered} registered voters and ballots",
            found=f"{int(use.sum())} stations",
        )
    gaussians: tuple[float, ...] = ()
    if peak_bin is None:
        peak, how, gaussians = find_peak_bin(c.others, smooth=smooth)
    else:
        if not 0 <= int(peak_bin) < N_BINS or c.others[int(peak_bin)] <= 0:
            raise SaylauInputError(
                "peak bin outside the turnout bins or without other ballots",
                file=table.source,
                field="peak_bin",
                expected="a bin 0-99 with ballots for the others",
                found=peak_bin,
            )
        peak, how = int(peak_bin), "given"
    sens = _sensitivity(c, peak, spread) if peak >= 0 else {}
    finite = [v for v in sens.values() if math.isfinite(v)]
    est = sens.get(0, math.nan)
    if how.startswith("argmax"):
        warnings.warn(
            "two-Gaussian fit of the others' curve failed; peak bin = the curve's maximum",
            SaylauWarning,
            stacklevel=2,
        )
    if how == "not-applicable":
        warnings.warn(
            "Shpilkin's method not applicable: the others' curve has no plausible clean peak "
            "(Cedar reports N/A for such elections; it usually means mass falsification)",
            SaylauWarning,
            stacklevel=2,
        )
    regions = (
        _by_region(region, bins, lead, others, smooth, spread, alpha) if by is not None else ()
    )
    if by is not None:
        for r in regions:
            if r.peak_method == "not-applicable":
                warnings.warn(
                    f"{r.region}: Shpilkin's method not applicable (no plausible clean peak)",
                    SaylauWarning,
                    stacklevel=2,
                )
    total_lead = float(c.leader.sum())
    se = _std_err(c, peak) if peak >= 0 else math.nan
    wt = within_unit_test(table, leader=leader, level=within, min_registered=min_registered)
    if by is not None and regions:
        inside = within_unit_by(
            table, by, leader=arr.leader_name, level=within, min_registered=min_registered
        )
        regions = _regional_alarms(regions, inside, alpha)
    pvalue = wt.pvalue
    alarm = bool(wt.tested and pvalue < alpha)
    return ExcessVotesResult(
        leader=arr.leader_name,
        estimate=est,
        std_err=se,
        peak_bin=peak,
        peak_method=how,
        ratio=float(c.leader[peak] / c.others[peak]) if peak >= 0 else math.nan,
        sensitivity=sens,
        sensitivity_range=(min(finite), max(finite)) if finite else (math.nan, math.nan),
        stations=int(c.bins.shape[0]),
        leader_votes=total_lead,
        others_votes=float(c.others.sum()),
        share_of_leader=est / total_lead if total_lead > 0 else math.nan,
        leader_by_bin=tuple(float(v) for v in c.leader),
        others_by_bin=tuple(float(v) for v in c.others),
        gaussians=gaussians,
        excluded=excluded,
        data_quality=dict(arr.quality.counts),
        by_region=regions,
        method="Shpilkin's excess votes: others' curve scaled at its clean peak bin",
        caveat=_CAVEAT,
        pvalue=pvalue,
        units_tested=sum(1 for r in regions if math.isfinite(r.pvalue)),
        within=wt,
        sampling_pvalue=_pvalue(min(finite) if finite else math.nan, se),
        finding=Finding(
            alarm=alarm,
            kind="test",
            level=alpha,
            pvalue=pvalue if wt.tested else None,
            correction="none",
            calibration="the leader's share against turnout inside territorial units "
            "(within-unit slope, cluster-robust, one-sided normal)",
            caveats=(_CAVEAT, _within_caveat(wt)),
        ),
    )


def _regional_alarms(
    regions: tuple[RegionExcessVotes, ...],
    inside: dict[str, WithinUnitTest],
    alpha: float,
) -> tuple[RegionExcessVotes, ...]:
    """Each region's alarm as the national one: the within-unit slope inside the region's own
    units, Holm over the regions where it can be tested; the region's estimate against its
    sampling error alone stays beside it (``sampling_pvalue``), never an alarm."""
    tests = [inside.get(r.region) for r in regions]
    ps = [w.pvalue if w is not None and w.tested else math.nan for w in tests]
    tested = [k for k, p in enumerate(ps) if math.isfinite(p)]
    adj = np.full(len(regions), math.nan)
    if tested:
        from statsmodels.stats.multitest import multipletests  # per-unit runs only

        adj[tested] = multipletests([ps[k] for k in tested], method="holm")[1]
    correction = f"Holm over {len(tested)} units"
    out = []
    for k, r in enumerate(regions):
        w = tests[k]
        ok = math.isfinite(ps[k])
        caveats = [_CAVEAT, _within_caveat(w)] if ok and w is not None else [_CAVEAT]
        if not ok:
            caveats.append("no alarm possible: the region has no unit level with several stations")
        if r.peak_method == "not-applicable":
            caveats.append(_NA_CAVEAT)
        out.append(
            dataclasses.replace(
                r,
                within=w,
                sampling_pvalue=r.pvalue,
                pvalue=ps[k],
                pvalue_holm=float(adj[k]),
                finding=Finding(
                    alarm=bool(ok and adj[k] < alpha),
                    kind="test",
                    level=alpha,
                    pvalue=ps[k] if ok else None,
                    correction=correction,
                    calibration="the leader's share against turnout inside the region's "
                    "territorial units (within-unit slope, cluster-robust, one-sided normal)",
                    caveats=tuple(caveats),
                ),
            )
        )
    return tuple(out)


def _pvalue(low_estimate: float, se: float) -> float:
    """One-sided p-value of a positive excess: the least favourable estimate over the peak
    shifts against its sampling error (normal)."""
    if not (math.isfinite(low_estimate) and math.isfinite(se)) or se <= 0:
        return math.nan if not math.isfinite(low_estimate) else (0.0 if low_estimate > 0 else 1.0)
    return float(stats.norm.sf(low_estimate / se))


def _by_region(
    region: npt.NDArray[np.object_],
    bins: IntArray,
    lead: IntArray,
    others: IntArray,
    smooth: int,
    spread: int,
    alpha: float = 0.01,
) -> tuple[RegionExcessVotes, ...]:
    names, codes = group_codes(region)
    inside = (bins >= 0) & (bins < N_BINS)
    out = []
    for i, name in enumerate(names):
        rows = inside & (codes == i)
        c = _curves(bins[rows], lead[rows], others[rows])
        lb, ob = c.leader, c.others
        n_st = int(rows.sum())
        if not np.any(ob > 0):
            out.append(
                RegionExcessVotes(name, n_st, math.nan, -1, "not-applicable", {}, 0.0, math.nan)
            )
            continue
        peak, how, _ = find_peak_bin(ob, smooth=smooth)
        tl = float(lb.sum())
        if peak < 0:
            out.append(RegionExcessVotes(name, n_st, math.nan, -1, how, {}, tl, math.nan))
            continue
        sens = {d: excess_from_bins(lb, ob, peak + d) for d in range(-spread, spread + 1)}
        est = sens[0]
        finite = [v for v in sens.values() if math.isfinite(v)]
        se = _std_err(c, peak)
        out.append(
            RegionExcessVotes(
                region=name,
                stations=n_st,
                estimate=est,
                peak_bin=peak,
                peak_method=how,
                sensitivity=sens,
                leader_votes=tl,
                share_of_leader=est / tl if tl > 0 else math.nan,
                std_err=se,
                pvalue=_pvalue(min(finite) if finite else math.nan, se),
            )
        )
    # Holm over the regions where the method applies
    tested = [k for k, r in enumerate(out) if math.isfinite(r.pvalue)]
    adj = np.full(len(out), math.nan)
    if tested:
        from statsmodels.stats.multitest import multipletests  # per-unit runs only

        adj[tested] = multipletests([out[k].pvalue for k in tested], method="holm")[1]
    correction = f"Holm over {len(tested)} units"
    final = []
    for k, r in enumerate(out):
        applicable = r.peak_method != "not-applicable"
        caveats = (_CAVEAT,) if applicable else (_CAVEAT, _NA_CAVEAT)
        final.append(
            dataclasses.replace(
                r,
                pvalue_holm=float(adj[k]),
                finding=Finding(
                    alarm=bool(adj[k] < alpha) if applicable else False,
                    kind="test",
                    level=alpha,
                    pvalue=r.pvalue if math.isfinite(r.pvalue) else None,
                    correction=correction,
                    calibration="sampling error only (delta method)",
                    caveats=caveats,
                ),
            )
        )
    final.sort(key=lambda r: (-(r.estimate if math.isfinite(r.estimate) else -math.inf), r.region))
    return tuple(final)
