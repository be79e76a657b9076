"""Coarse vote shares: Rozenas's resampled kernel density test (the R package ``spikes``).

When a commission writes a figure instead of counting, the leader's share tends to be a
*coarse* fraction (1/2, 2/3, 3/4, 60 %...). Rozenas (2017) estimates how many stations show such
shares beyond what the arithmetic of small integers produces by itself:

1. **Null model.** Turnout given the registered voters, and the leader's votes given the
   ballots, are each fitted by a mixture of beta-binomial distributions (EM, the number of
   components grown from 1 until two successive fits give densities correlated above 0.99,
   at most 5; the log-parameters are bounded to [-3, 6], as in ``spikes``). The EM starts
   from equal-count groups of the observed rates (``spikes``: a random least-squares start)
   and stops at a density correlation of 0.9999 between iterates (``spikes``: 0.99); the
   M-step is a Newton ascent on sums over counts 0..max(n), not over stations.
2. **Resampling.** Each resample redraws every station: a mixture component from its posterior
   responsibilities, a turnout rate from Beta(T + a, N - T + b) and a turnout from the binomial,
   then the same for the leader's votes given the *resampled* turnout; the share is
   votes / turnout (0 when no one turned out).
3. **Densities.** The leader's share is smoothed on the grid 0, 0.001, ..., 1 by R's
   ``density(x, bw = 1e-4, n = 1001, from = 0, to = 1)`` algorithm (linear binning on 1024
   nodes, Gaussian convolution, linear interpolation), for the data and for every resample.
4. **Fraud %.** ``w`` = the observed share of stations in each 0.001-wide bin minus the mean of
   the resamples', floored at 0; the estimate is 100 · Σ w over the grid points where the
   observed density exceeds every resample.

Speed. The reference draws two betas and two binomials per station and resample in a loop
(about 100 s for 95,000 stations and 1,000 resamples). Here the resamples are drawn in blocks,
vectorised, and where a count has enough spread (binomial variance at the observed rate at
least ``exact_below`` = 9, i.e. sd >= 3) its two-stage draw (component, beta, binomial) is
replaced by the discretised normal with the exact mean and variance of the posterior predictive
mixture (standard normals from a 65,536-quantile table). Counts with less spread (small
stations, turnouts or shares near 0 or 100 %) are drawn exactly: turnouts by inverse CDF
from the exact posterior-predictive beta-binomial mixture pmf (the distribution of the
component-beta-binomial draw, tabulated once), votes by the component, beta and binomial
draws themselves; ``exact_below=math.inf`` draws everything exactly. Blocks of resamples run
on two threads, each with its own generator spawned from ``rng`` (the answer does not depend
on the threads), and stations are put in a canonical order first (nor on the row order).
The beta-binomial M-step sums over counts up to the 99.9th percentile of the station sizes and
adds the few larger stations (electronic-voting pseudo-stations) one by one, exactly; with
spikes' bandwidth the kernel touches no neighbouring node, so the density needs no FFT.
Resampling is sequential: 500 resamples first, doubled (up to ``max_resamples`` = 2,000) only
while the p-value's Monte Carlo interval contains the alarm's level.

Stations with fewer than ``min_registered`` (100) registered voters are left out by default,
a declared and counted rule (see :func:`coarse_shares`).

Zero shares. Stations where the leader got no vote at all are kept in the fits (as in
``spikes``) but the share 0 is never scored or flagged: it is not a drawn result for the leader.

The test and its uncertainty. spikes' fraud % compares the data with the *envelope* (maximum)
of the resampled densities; a maximum over R resamples grows with R and jumps with the seed
(on the clean Polish control, seeds 0-7 gave 0.007 %-0.217 % and p-values from 0.02 to 0.57).
It is still reported, with a Monte Carlo sd (bootstrap of the resamples), but the alarm rests
on a statistic with a limit: for each 0.001 bin of the share, ``z = (c - m) / sqrt(m + 1)``,
the observed stations ``c`` above the resamples' mean ``m`` in units of its Poisson-binomial
scale, and ``T = Σ (z - 2)_+^2``. Its null: every resample scored the same way against the mean
of the others (leave-one-out), p = (1 + #{T_r >= T}) / (R + 1). The p-value's Monte Carlo error
(three sds: the binomial error of R null values and T's own spread from its resampled means,
carried through the null) is reported; on the Polish control seeds 0-7 now give p from 0.13
to 0.20 (500 resamples; stated error about 0.08), each within its stated error.
(``spikes``'s own ``confInt`` reruns the whole procedure 100 times on posterior draws of the
mixture; that costs 100 times as much.)

References
----------
Rozenas, A. (2017). Detecting election fraud from irregularities in vote-share distributions.
*Political Analysis* 25(1), 41-56.

Rozenas, A. (2016). spikes: Detecting election fraud from irregularities in vote-share
distributions. R package version 1.1, https://CRAN.R-project.org/package=spikes.

Examples
--------
>>> from saylau.forensics.simulate import simulate_election
>>> sim = simulate_election(stations=1000, rng=2)
>>> res = coarse_shares(sim.table, resamples=100, rng=1)
>>> res.nobs + res.excluded["registered_below_min"], res.resamples
(1000, 100)
>>> 0 <= res.fraud_pct <= 100 and 0 < res.pvalue <= 1
True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from .._exceptions import EmptyInputError, SaylauWarning
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._stations import station_arrays
from .betabinom import BetaBinomialMixture, fit_beta_binomial_mixture
from .rdensity import _r_density_setup, _share_bins, _share_bins_fast, r_density

__all__ = [
    "COARSE_CAVEAT",
    "COARSE_FRACTIONS",
    "CoarseSharesResult",
    "coarse_shares",
    "r_density",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Fractions with small denominators reported one by one (the grid point nearest to each).
COARSE_FRACTIONS: tuple[Fraction, ...] = tuple(
    sorted(
        {Fraction(a, b) for b in range(2, 6) for a in range(1, b)}
        | {Fraction(a, 10) for a in range(1, 10)}
        | {Fraction(1, 1)}
    )
)

_GRID = 1001
_BW = 1e-4
_HINGE = 2.0

#: The caveat every coarse-share result carries.
COARSE_CAVEAT = (
    "A test of too many stations at one leader share against a resampled beta-binomial null; "
    "it cannot tell a drawn protocol from a genuine sharp mode, and the fraud % is spikes' "
    "envelope figure, which depends on the number of resamples"
)


# ------------------------------------------------------------------------------ resampling
@dataclasses.dataclass(frozen=True)
class _Stage:
    """Posterior-predictive pieces of one stage (turnout | registered, or votes | turnout)."""

    a: FloatArray  # (stations, components): successes + alpha_k
    b: FloatArray  # (stations, components): failures + beta_k
    cum_resp: FloatArray  # (stations, components): cumulative responsibilities
    m1: npt.NDArray[np.float32]  # E p
    c1: npt.NDArray[np.float32]  # E p - E p^2
    c2: npt.NDArray[np.float32]  # E p^2 - (E p)^2: Var(count | size) = size*c1 + size^2*c2


def _stage(fit: BetaBinomialMixture, y: IntArray, n: IntArray) -> _Stage:
    yf, nf = y.astype(np.float64), n.astype(np.float64)
    resp = fit.responsibilities(y, n)
    a = yf[:, None] + fit.alpha[None, :]
    b = (nf - yf)[:, None] + fit.beta[None, :]
    s = a + b
    m1 = (resp * a / s).sum(axis=1)
    m2 = (resp * a * (a + 1) / (s * (s + 1))).sum(axis=1)
    f32 = np.float32
    return _Stage(
        a=a,
        b=b,
        cum_resp=np.cumsum(resp, axis=1),
        m1=m1.astype(f32),
        c1=(m1 - m2).astype(f32),
        c2=np.maximum(m2 - m1 * m1, 0.0).astype(f32),
    )


def _normal_table(size: int = 65536) -> npt.NDArray[np.float32]:
    return np.asarray(stats.norm.ppf((np.arange(size) + 0.5) / size), dtype=np.float32)


def _exact_draw(
    stage: _Stage, rows: slice, size: npt.NDArray[np.float32], gen: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Component, beta and binomial draws for the stations ``rows`` (reps × rows), as spikes.

    ``size`` (reps × rows) holds the binomial sizes (registered, or the resampled turnout).
    """
    cum = stage.cum_resp[rows]
    reps, m = size.shape
    u = gen.random((reps, m))
    comp = np.minimum((u[:, :, None] > cum[None, :, :]).sum(axis=2), cum.shape[1] - 1)
    col = np.arange(m)[None, :]
    p = gen.beta(stage.a[rows][col, comp], stage.b[rows][col, comp])
    return gen.binomial(size.astype(np.int64), p).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class _PmfTable:
    """Exact posterior-predictive pmfs of some stations, for inverse-CDF draws."""

    keys: FloatArray  # station index + cumulative probability, increasing
    values: npt.NDArray[np.float32]  # the count at each key
    ends: IntArray  # last key position of each station


def _pmf_table(stage: _Stage, rows: slice, size: IntArray, fit: BetaBinomialMixture) -> _PmfTable:
    """Σ_k resp_k · BetaBinomial(j; size, a_k, b_k) over mean ± 12 sd (+3) of each station.

    The same distribution as the component, beta and binomial draws of ``spikes``; mass beyond
    12 sd of a beta-binomial mixture is far below double precision.
    """
    n = size.astype(np.float64)
    m1 = stage.m1[rows].astype(np.float64)
    sd = np.sqrt(n * (stage.c1[rows] + n * stage.c2[rows]).astype(np.float64))
    lo = np.clip(np.floor(n * m1 - 12 * sd - 3), 0, n).astype(np.int64)
    hi = np.clip(np.ceil(n * m1 + 12 * sd + 3), 0, n).astype(np.int64)
    lengths = hi - lo + 1
    ends = np.cumsum(lengths) - 1
    owner = np.repeat(np.arange(lengths.size), lengths)
    j = (lo[owner] + np.arange(owner.size) - (ends - lengths + 1)[owner]).astype(np.float64)
    nn = n[owner]
    const = special.gammaln(nn + 1) - special.gammaln(j + 1) - special.gammaln(nn - j + 1)
    a, b = stage.a[rows], stage.b[rows]
    resp = np.diff(stage.cum_resp[rows], axis=1, prepend=0.0)
    pmf = np.zeros(owner.size)
    for k in range(a.shape[1]):
        # posterior predictive of component k: BetaBinomial(size, y + alpha_k, n - y + beta_k)
        ak, bk = a[owner, k], b[owner, k]
        logp = (
            const
            + special.gammaln(j + ak)
            + special.gammaln(nn - j + bk)
            - special.gammaln(nn + ak + bk)
            - special.betaln(ak, bk)
        )
        pmf += resp[owner, k] * np.exp(logp)
    cum = np.cumsum(pmf)
    start = np.concatenate([[0.0], cum[ends[:-1]]])
    within = cum - start[owner]
    total = within[ends]
    keys = owner + within / total[owner]
    keys[ends] = np.arange(lengths.size) + 1.0
    return _PmfTable(keys=keys, values=j.astype(np.float32), ends=ends)


def _table_draw(table: _PmfTable, reps: int, gen: np.random.Generator) -> npt.NDArray[np.float32]:
    """Inverse-CDF draws, reps × stations (the keys of one row are increasing: fast search)."""
    m = table.ends.size
    u = gen.random((reps, m))
    u += np.arange(m)
    idx = np.searchsorted(table.keys, u.ravel(), side="right").reshape(reps, m)
    np.minimum(idx, table.ends[None, :], out=idx)
    return table.values[idx]


def _normal_draw(
    stage: _Stage, rows: slice, size: npt.NDArray[np.float32], z: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Discretised normal with the posterior-predictive mixture mean and variance (float32:
    counts are exact integers there up to 2**24)."""
    # sqrt(size (c1 + size c2)), the mean plus sd·z, rounded and clipped to [0, size]: in
    # place, in the order of these operations (float products and sums commute exactly)
    sd = size * stage.c2[rows]
    sd += stage.c1[rows]
    sd *= size
    np.sqrt(sd, out=sd)
    sd *= z
    out = size * stage.m1[rows]
    out += sd
    out += np.float32(0.5)
    np.floor(out, out=out)
    np.maximum(out, np.float32(0.0), out=out)
    np.minimum(out, size, out=out)
    return out


def _resample_shares(
    turn: _Stage,
    vote: _Stage,
    registered: npt.NDArray[np.float32],
    exact_t: int,
    exact_v: npt.NDArray[np.bool_],
    reps: int,
    gen: np.random.Generator,
    table: npt.NDArray[np.float32],
    turn_table: _PmfTable | None = None,
) -> FloatArray:
    """``reps`` resampled leader shares of every station, shape (reps, stations).

    Stations are ordered so that the first ``exact_t`` need exact turnout draws.
    """
    nst = registered.size
    bits = gen.integers(0, table.size, (2, reps, nst), dtype=np.uint16)
    size = np.broadcast_to(registered.astype(np.float32, copy=False), (reps, nst))
    t = np.empty((reps, nst), dtype=np.float32)
    if exact_t and turn_table is not None:
        t[:, :exact_t] = _table_draw(turn_table, reps, gen)
    elif exact_t:
        t[:, :exact_t] = _exact_draw(turn, slice(0, exact_t), size[:, :exact_t], gen)
    t[:, exact_t:] = _normal_draw(
        turn, slice(exact_t, nst), size[:, exact_t:], table[bits[0, :, exact_t:]]
    )
    v = _normal_draw(vote, slice(0, nst), t, table[bits[1]])
    cols = np.flatnonzero(exact_v)
    if cols.size:
        lo, hi = int(cols[0]), int(cols[-1]) + 1  # exact-vote stations are contiguous
        v[:, lo:hi] = _exact_draw(vote, slice(lo, hi), t[:, lo:hi], gen)
    with np.errstate(invalid="ignore", divide="ignore"):
        # the share in double, as R; no one turned out (t = 0, so v = 0): share 0
        share = np.divide(v, np.maximum(t, np.float32(1.0), out=t), dtype=np.float64)
    return share


# ------------------------------------------------------------------------------ result
@dataclasses.dataclass(frozen=True, eq=False)
class CoarseSharesResult(Result):
    """Rozenas's coarse-vote-share fraud estimate.

    Attributes
    ----------
    fraud_pct : float
        Estimated percentage of stations with excess (coarse) leader shares (spikes' figure:
        excess mass where the observed density exceeds every resample).
    fraud_mc_sd : float
        Its Monte Carlo sd (bootstrap of the resamples; indicative, see ``_fraud_mc_sd``).
    statistic : float
        The test statistic: ``Σ (z - 2)_+^2`` over the 0.001 bins of the leader's share (share
        0 left out), ``z = (c - m) / sqrt(m + 1)`` the excess of stations in the bin over the
        resamples' mean count ``m``, in units of its Poisson-binomial scale.
    pvalue : float
        Share of the leave-one-out null statistics at least as large, (1 + #) / (R + 1).
    pvalue_mc_error : float
        Three Monte Carlo sds of the p-value: the binomial error of R null values and the
        statistic's own spread (bootstrap of the resamples) carried through the null's
        distribution. Seeds move the p-value by less than this.
    null_mean, null_q95 : float
        Mean and 95th percentile of the fraud % of resampled (null) elections.
    significant : bool
        ``pvalue < level`` (the finding's alarm).
    flagged : tuple of float
        Grid values where the observed density exceeds every resample and has excess mass
        (never 0: a station where the leader got no vote is not a drawn result for him).
    coarse : tuple of dict
        For each coarse fraction (1/2, 1/3, 2/3, 1/4, ..., tenths): its grid point, the
        observed and mean resampled shares of stations in its bin (%) and whether it is flagged.
    nobs : int
        Stations used.
    excluded : dict
        Stations left out, by rule.
    components : tuple of int
        Beta-binomial components of the turnout and vote mixtures.
    resamples : int
    exact_stations : int
        Stations drawn exactly (the others by the discretised normal approximation).
    zero_leader : int
        Stations where the leader got no vote (kept in the fit; share 0 is not scored).
    leader : str
    method : str
    finding : Finding
        The alarm (``pvalue < level``), with the Monte Carlo errors in its caveats.
    """

    fraud_pct: float
    fraud_mc_sd: float
    statistic: float
    pvalue: float
    pvalue_mc_error: float
    null_mean: float
    null_q95: float
    significant: bool
    flagged: tuple[float, ...]
    coarse: tuple[dict[str, Any], ...]
    nobs: int
    excluded: dict[str, int]
    components: tuple[int, int]
    resamples: int
    exact_stations: int
    zero_leader: int
    leader: str
    method: str
    finding: Finding


def coarse_shares(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    resamples: int = 500,
    max_resamples: int = 2000,
    sequential: bool = True,
    min_registered: int = 100,
    bw: float = _BW,
    grid: int = _GRID,
    max_components: int = 5,
    exact_below: float = 9.0,
    block: int = 25,
    workers: int | None = None,
    fractions: Sequence[Fraction] = COARSE_FRACTIONS,
    level: float = 0.01,
    rng: int | np.random.Generator | None = None,
) -> CoarseSharesResult:
    """Rozenas's estimate of the share of stations with coarse (drawn) leader shares.

    Parameters
    ----------
    table : ProtocolTable
        Precinct protocols.
    leader : str, Choice or None
        The choice studied; the contender with most votes by default.
    resamples : int
        Resampled elections drawn first (``spikes`` draws 1,000; pass ``resamples=1000,
        sequential=False`` for its fraud % as published: the envelope grows with the number
        of resamples).
    max_resamples, sequential : int, bool
        Sequential resampling: while the p-value's Monte Carlo interval (three sds) contains
        ``level``, the resamples are doubled, up to ``min(max_resamples, 4 * resamples)``.
        ``sequential=False``: exactly ``resamples``.
    min_registered : int
        Stations with fewer registered voters are left out (counted in ``excluded``), as in
        Kobak et al.'s integer test. ``spikes`` keeps them (``min_registered=0``), but their
        shares are small-denominator fractions by construction (1/2, 16/17, 1...) that the
        resampled null, which adds posterior noise around every observed share, reproduces
        too smoothly: on the clean Polish 2020 control they alone raise the alarm.
    bw, grid : float, int
        Kernel bandwidth and grid size of the densities (``spikes``: 1e-4 and 1001).
    max_components : int
        Largest number of beta-binomial components tried.
    exact_below : float
        Counts (turnout, leader votes) whose binomial variance at the observed rate is below
        this are drawn exactly; the others by the moment-matched discretised normal (see the
        module notes). ``math.inf``: the reference procedure throughout.
    block : int
        Resamples drawn at once (memory: about ``block`` × stations × 40 bytes per worker).
    workers : int, optional
        Threads drawing blocks of resamples (NumPy releases the GIL in its kernels); 2 by
        default. Every block has its own generator spawned from ``rng``, so the result does not
        depend on the number of workers.
    fractions : sequence of Fraction
        Coarse fractions reported one by one.
    level : float
        Level of the alarm (``pvalue < level``).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    CoarseSharesResult

    Raises
    ------
    EmptyInputError
        When fewer than 10 stations have ballots and a turnout within 100 %.

    Notes
    -----
    Stations used: usable rows (see ``saylau.forensics._stations``) with 0 < valid + invalid
    <= registered and at least ``min_registered`` registered voters; turnout is valid +
    invalid (the ballots found), the share leader / (valid + invalid).

    The p-value compares the summed squared excess ``T`` (module notes) with the same
    statistic of every resampled election against the others (leave-one-out). The resampled
    shares carry posterior noise around the observed ones, so resampled densities are slightly
    smoother than an election drawn from the null: a sharp but genuine mode of the leader's
    share can exceed them. With ``spikes``' settings (``min_registered=0``, every station) the
    clean Polish control raises the alarm (p = 0.001, seeds 0 and 1): the shares of stations
    with a handful of ballots (1/2, 1, ...) are such sharp modes; hence the default of 100
    registered voters.

    References
    ----------
    Rozenas (2017), Political Analysis 25(1), 41-56; R package ``spikes``.

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election
    >>> sim = simulate_election(stations=1000, rounded_share=0.3, round_to=0.05, rng=4)
    >>> res = coarse_shares(sim.table, resamples=200, rng=1)
    >>> res.fraud_pct > res.null_q95
    True
    """
    arr = station_arrays(table, leader=leader, level=None)
    excluded = {k: v for k, v in arr.quality.counts.items() if k in ("empty", "zero_registered")}
    cast = arr.cast
    keep = (cast > 0) & (cast <= arr.registered)
    excluded["no_ballots_cast"] = int((cast <= 0).sum())
    excluded["ballots_above_registered"] = int(((cast > 0) & (cast > arr.registered)).sum())
    small = keep & (arr.registered < min_registered)
    excluded["registered_below_min"] = int(small.sum())
    keep &= ~small
    n_reg = arr.registered[keep]
    n_cast = cast[keep]
    n_lead = np.minimum(arr.leader[keep], n_cast)
    if n_reg.size < 10:
        raise EmptyInputError(
            "coarse-share test needs at least 10 stations with ballots",
            file=table.source,
            expected=">= 10 stations",
            found=n_reg.size,
        )
    if n_reg.size < 500:
        import warnings

        warnings.warn(
            f"coarse-share test on {n_reg.size} stations: low power", SaylauWarning, stacklevel=2
        )
    gen = np.random.default_rng(rng)
    with ThreadPoolExecutor(max_workers=2 if workers is None or workers > 1 else 1) as pool:
        fut_t = pool.submit(fit_beta_binomial_mixture, n_cast, n_reg, max_components=max_components)
        fut_v = pool.submit(
            fit_beta_binomial_mixture, n_lead, n_cast, max_components=max_components
        )
        fit_t, fit_v = fut_t.result(), fut_v.result()
    # order: exact turnout first, then exact votes, then the rest (contiguous blocks)
    pt, pv = n_cast / n_reg, n_lead / n_cast
    ex_t = n_reg * pt * (1 - pt) < exact_below
    ex_v = n_cast * pv * (1 - pv) < exact_below
    # blocks: [turnout exact only][both][votes exact only][neither], so that the exact turnouts
    # are a prefix and the exact votes one contiguous block
    key = np.where(ex_t, np.where(ex_v, 1, 0), np.where(ex_v, 2, 3))
    # within a block, a canonical order (registered, ballots, leader votes): the random
    # numbers a station gets, hence the result, do not depend on the row order of the table
    order = np.lexsort((n_lead, n_cast, n_reg, key))
    n_reg, n_cast, n_lead = n_reg[order], n_cast[order], n_lead[order]
    ex_t, exact_v = ex_t[order], ex_v[order]
    exact_t = int(ex_t.sum())
    turn = _stage(fit_t, n_cast, n_reg)
    vote = _stage(fit_v, n_lead, n_cast)
    exact = ex_t | exact_v

    rd = _r_density_setup(bw, grid)
    x = rd.x
    breaks = -x[1] / 2 + np.arange(grid + 1) * (x[1] - x[0])
    share_obs = n_lead / n_cast
    nst = share_obs.size
    d_obs = rd.smooth(rd.binned(share_obs), float(nst))[0]
    w_obs = np.bincount(_share_bins(share_obs, breaks), minlength=grid) / nst

    table_z = _normal_table()
    turn_table = (
        _pmf_table(turn, slice(0, exact_t), n_reg[:exact_t], fit_t) if exact_t > 0 else None
    )
    reg_f = n_reg.astype(np.float32)
    cap = max(resamples, min(max_resamples, 4 * resamples)) if sequential else resamples
    dens = np.empty((cap, grid))
    hist = np.empty((cap, grid))
    # generators: one for the bootstrap, then one per block of resamples, spawned in order,
    # so that the result depends neither on the threads nor on the row order
    boot_gen = gen.spawn(1)[0]
    n_threads = max(1, workers if workers is not None else 2)

    # row offsets of a block's flattened values, for the density nodes and for the bins
    # (computed once: the blocks are many and the arrays resamples × stations long)
    block_rows = np.repeat(np.arange(block, dtype=np.int64), nst)
    node_offsets = block_rows * (2 * rd.n)
    bin_offsets = block_rows * grid

    def run_blocks(lo: int, hi: int) -> None:
        starts = list(range(lo, hi, block))
        gens = gen.spawn(len(starts))

        def run(i: int) -> None:
            start = starts[i]
            reps = min(block, hi - start)
            y = _resample_shares(
                turn, vote, reg_f, exact_t, exact_v, reps, gens[i], table_z, turn_table
            )
            flat = y.ravel()
            size = reps * nst
            binned = rd.binned(flat, node_offsets[:size], reps, inside=True, row_offsets=True)
            dens[start : start + reps] = rd.smooth(binned, float(nst))
            codes = _share_bins_fast(flat, breaks)
            codes += bin_offsets[:size]
            hist[start : start + reps] = (
                np.bincount(codes, minlength=reps * grid).reshape(reps, grid) / nst
            )

        if n_threads == 1 or len(starts) == 1:
            for i in range(len(starts)):
                run(i)
        else:
            with ThreadPoolExecutor(max_workers=min(n_threads, len(starts))) as pool:
                list(pool.map(run, range(len(starts))))

    # share 0 (the leader got no vote at all) is never a drawn result for the leader: not scored
    scored = np.ones(grid, dtype=bool)
    scored[0] = False
    done = resamples
    run_blocks(0, done)
    while True:
        test = _test(dens[:done], hist[:done], w_obs, d_obs, scored, nst, boot_gen)
        statistic, pvalue, p_mc, fraud_sd = test
        # sequential: more resamples only while the Monte Carlo interval straddles the level
        if done >= cap or not (pvalue - p_mc < level < pvalue + p_mc):
            break
        more = min(cap, 2 * done)
        run_blocks(done, more)
        done = more
    resamples = done
    dens, hist = dens[:done], hist[:done]
    mean_hist = hist.mean(axis=0)
    w = np.maximum(w_obs - mean_hist, 0.0)
    ymax = dens.max(axis=0)
    over = (ymax < d_obs) & scored
    fraud = 100.0 * float(w[over].sum())

    # spikes' fraud % of each resample against the others (leave-one-out): its null spread
    null = np.zeros(resamples)
    if resamples >= 2:
        order = np.argsort(dens, axis=0)
        top1 = dens[order[-1], np.arange(grid)]
        top2 = dens[order[-2], np.arange(grid)]
        others_max = np.where(np.arange(resamples)[:, None] == order[-1][None, :], top2, top1)
        mean_others = (resamples * mean_hist[None, :] - hist) / (resamples - 1)
        w_null = np.maximum(hist - mean_others, 0.0)
        null = 100.0 * (w_null * ((others_max < dens) & scored[None, :])).sum(axis=1)

    coarse = []
    for f in fractions:
        k = int(np.argmin(np.abs(x - float(f))))
        coarse.append(
            {
                "fraction": f"{f.numerator}/{f.denominator}",
                "value": float(f),
                "grid": float(x[k]),
                "observed_pct": 100.0 * float(w_obs[k]),
                "expected_pct": 100.0 * float(mean_hist[k]),
                "flagged": bool(over[k] and w[k] > 0),
            }
        )
    alarm = pvalue < level
    return CoarseSharesResult(
        fraud_pct=fraud,
        fraud_mc_sd=fraud_sd,
        statistic=statistic,
        pvalue=pvalue,
        pvalue_mc_error=p_mc,
        null_mean=float(null.mean()),
        null_q95=float(np.quantile(null, 0.95)),
        significant=alarm,
        flagged=tuple(float(v) for v in x[over & (w > 0)]),
        coarse=tuple(coarse),
        nobs=int(nst),
        excluded=excluded,
        components=(fit_t.components, fit_v.components),
        resamples=resamples,
        exact_stations=int(exact.sum()),
        leader=arr.leader_name,
        zero_leader=int((n_lead == 0).sum()),
        method="Rozenas (2017) resampled kernel densities (spikes): beta-binomial mixtures "
        f"for turnout and leader votes, R density (bw {bw:g}, {grid} points); test: summed "
        "squared excess of stations over the 0.001 bins against its leave-one-out null",
        finding=Finding(
            alarm=alarm,
            kind="test",
            level=level,
            pvalue=pvalue,
            correction="none",
            calibration="leave-one-out null of the resampled elections (tests/forensics/"
            "test_coarse.py: simulated clean elections and Poland 2020)",
            caveats=(
                COARSE_CAVEAT,
                f"p-value Monte Carlo error +-{p_mc:.3f} ({resamples} "
                f"resamples); fraud % Monte Carlo sd {fraud_sd:.3f}",
            ),
        ),
    )


def _excess_statistic(
    observed: FloatArray, counts: FloatArray, scored: npt.NDArray[np.bool_]
) -> tuple[float, FloatArray]:
    """Summed squared excess ``Σ (z - 2)_+^2``, ``z = (c - m) / sqrt(m + 1)``, over the scored
    bins, for the data (``m``: mean of the resampled counts) and for every resample against
    the mean of the *others* (the leave-one-out null).

    A bin's count is a sum of independent station indicators (Poisson-binomial), whose
    variance is at most its mean ``m``: ``sqrt(m + 1)`` is its scale, the +1 keeping bins that
    resamples almost never reach from dividing by ~0. A mean converges at rate
    1/sqrt(R m), so the statistic, unlike an envelope (a maximum over R resamples, which grows
    with R), has a limit and moves little with the seed.
    """
    r = counts.shape[0]
    c = counts[:, scored]
    s1 = c.sum(axis=0)
    m = s1 / r
    stat = _hinge((observed[scored] - m) / np.sqrt(m + 1.0))
    if r < 2:
        return stat, np.zeros(r)
    m_o = (s1[None, :] - c) / (r - 1)
    null = _hinge((c - m_o) / np.sqrt(m_o + 1.0))
    return float(stat), np.asarray(null, dtype=np.float64)


def _hinge(z: FloatArray) -> Any:
    """Σ (z - 2)_+^2 over the last axis: every bin more than 2 scale units above its mean
    counts, by how much (one large spike and many small ones alike); continuous in z."""
    h = np.maximum(z - _HINGE, 0.0)
    return (h * h).sum(axis=-1)


def _test(
    dens: FloatArray,
    hist: FloatArray,
    w_obs: FloatArray,
    d_obs: FloatArray,
    scored: npt.NDArray[np.bool_],
    nst: int,
    boot_gen: np.random.Generator,
) -> tuple[float, float, float, float]:
    """The calibrated test on the resamples at hand: statistic, p-value, the p-value's Monte
    Carlo error (three sds) and the fraud %'s Monte Carlo sd."""
    r = hist.shape[0]
    fraud_sd, stat_sd = _mc_sds(dens, hist, w_obs, d_obs, scored, nst, boot_gen)
    # the summed squared excess of stations over the 0.001 bins, against the same statistic of
    # every resample scored against the others (leave-one-out)
    statistic, null_stat = _excess_statistic(w_obs * nst, hist * nst, scored)
    pvalue = float((1 + np.sum(null_stat >= statistic)) / (r + 1))
    # Monte Carlo error: the null's finite sample (binomial) and the statistic's own spread
    # (its resampled means), carried through the null's distribution; three sds
    lo_t, hi_t = statistic - 2.0 * stat_sd, statistic + 2.0 * stat_sd
    shift = float(np.count_nonzero(null_stat >= lo_t) - np.count_nonzero(null_stat >= hi_t))
    p_sd = math.sqrt(max(pvalue * (1.0 - pvalue), 1.0 / r) / r + (0.25 * shift / (r + 1)) ** 2)
    return statistic, pvalue, 3.0 * p_sd, fraud_sd


def _mc_sds(
    dens: FloatArray,
    hist: FloatArray,
    w_obs: FloatArray,
    d_obs: FloatArray,
    scored: npt.NDArray[np.bool_],
    nst: int,
    gen: np.random.Generator,
    boots: int = 200,
    envelope_boots: int = 20,
) -> tuple[float, float]:
    """Monte Carlo sds of spikes' fraud % and of the test statistic, recomputed on bootstrap
    samples of the resamples (the means as multinomial-weighted sums, one matrix product).
    The statistic's sd is that of its resampled means; the fraud %'s envelope is a maximum
    over the resamples, so its spread is indicative (a bootstrap maximum is biased low)."""
    r = dens.shape[0]
    if r < 2:
        return math.nan, math.nan
    weights = gen.multinomial(r, np.full(r, 1.0 / r), size=boots).astype(np.float64) / r
    means = weights @ hist  # (boots, grid)
    obs = w_obs[scored] * nst
    m = means[:, scored] * nst
    st = _hinge((obs[None, :] - m) / np.sqrt(m + 1.0))
    fr = np.empty(envelope_boots)
    for b in range(envelope_boots):
        env = dens[weights[b] > 0].max(axis=0)
        wb = np.maximum(w_obs - means[b], 0.0)
        fr[b] = 100.0 * float(wb[(env < d_obs) & scored].sum())
    return float(fr.std(ddof=1)), float(np.std(st, ddof=1))
