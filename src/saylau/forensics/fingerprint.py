"""The election fingerprint and Klimek et al.'s fraud model.

The *fingerprint* is the 2-D histogram of the stations' turnout (ballots issued / registered)
against the leader's share (leader / (valid + invalid)). A clean election gives one roughly
Gaussian blob; ballot stuffing smears it towards the corner (100 %, 100 %).

**Baseline** (Kobak's procedure for the parameters of Klimek et al.'s model), over all usable
stations with valid + invalid > 0:

* τ and ν: the first local maximum above 0.3 of a Gaussian kernel density estimate of the
  turnout t and of the leader share v (SciPy's ``gaussian_kde`` with its default Scott
  bandwidth, evaluated on the grid 0, 0.001, ..., 0.999);
* σ_τ = RMS of (t − τ) over the stations with t < τ and v < ν;
* σ_ν = RMS of (v − ν) over the stations with v < ν;
* θ = fourth root of the mean of (v − ν)² over the stations with v > ν.

The kernel density is computed exactly (to ~1e-13 relative to its maximum), not binned: a
Taylor expansion of the Gaussian kernel around the points of a lattice finer than ``h / 9``,
truncated where the kernel is below ``exp(-40.5)`` of its peak (see :func:`gaussian_kde_grid`).

**Fraud model** (Klimek et al. 2012): every station's clean turnout and leader share are drawn
from N(τ, σ_τ) and N(ν, σ_ν) (redrawn until inside [0, 1]); with probability f_i a fraction
x ~ |N(0, θ)| of the non-voters is stuffed for the leader and a fraction x**α of the others'
votes moved to him; with probability f_e the same with x = 1 − |N(0, 0.075)|. f_i, f_e and α are
fitted by simulation: for each α on a grid and every (f_i, f_e) on a lattice of step
``f_step``, the 2-D histogram of a simulated election (with the observed electorates and common
random numbers) is compared with the observed one by the Neyman χ² distance
Σ (sim − obs)² / (obs + 1); all (f_i, f_e) pairs are scored at once from prefix sums of
per-segment histograms and one matrix product per α. This fit rests on strong assumptions
(one Gaussian blob, two fraud mechanisms) and published refits of the same data disagree
widely; read it as model-based.

**Uncertainty and bias** (parametric bootstrap of the whole procedure): each replicate
simulates an election from the fitted model (fitted baseline, f_i, f_e, α, the observed
electorates) and applies the estimator to it exactly as to data: Kobak's baseline is
re-estimated from the simulated stations, the model is simulated afresh with it and f_i, f_e, α
are refitted with the simulated election's own weights. The refits' spread therefore includes
the baseline's estimation error, and their mean minus the fit estimates the estimator's bias
(holding the baseline fixed, as earlier versions did, centres the refits on the fit and hides
that bias). Reported: the standard deviations of the refits, the bias, the
bias-corrected estimates ``f - bias`` and 95% *basic* bootstrap intervals
``(2 f - q97.5, 2 f - q2.5)`` (bias-corrected, widened by half a lattice step, the fit's
resolution), with the plain percentile intervals alongside. Two economies, both documented in
:meth:`KlimekFraudModel.bootstrap`: elections above ``boot_stations`` (10,000) stations are
bootstrapped on a random subset of that size (m-out-of-n bootstrap), and the refits search the
lattice within ±0.25 of the fitted (f_i, f_e) (refits ending on that edge are counted). The
spread of the m-station refits is used as it is, not shrunk by ``sqrt(m / n)``: checked on
Russia 2011, the refits' mean (the bias) is the same on 10,000 and on all 95,224 stations (f_i
0.493 and 0.497 against the fit's 0.58), but the root-n rate would understate the full-size
standard deviations (f_i, f_e, α: 0.0108, 0.0039, 0.154 from 20 full-size refits) by 30-55%
(0.0077, 0.0018, 0.068 rescaled from 50 refits on 10,000 stations; the lattice, not root-n,
sets the spread there). Unshrunk (0.024, 0.0056, 0.21) they are 1.4-2.2 times too wide for
elections of that size: conservative.

Why a bootstrap bias correction rather than a different θ: the downward bias of f_i comes from
the baseline estimated on contaminated stations (θ, the fourth root of the mean square above
ν, absorbs the fraud's smear; ν and the σ's move too). Because the bootstrap re-estimates the
baseline on simulated contaminated elections it reproduces the mechanism, and the correction
needs no extra assumption. Two alternatives were tried on the model's own data (8,000
stations, f_i = 0.3, θ = 0.3) and dropped: refitting θ jointly with f_i (a θ grid, best
distance) found f_i = 0.18-0.27 on 5 seeds, and even the true θ gave 0.16-0.27 (the other
baseline parameters matter as much); an indirect-inference iteration of the whole baseline
(simulate from the fit, re-estimate, shift the model's baseline by the difference, refit,
three rounds) reached 0.20-0.29 on 4 seeds and raised the spurious f_i of clean heterogeneous
elections (0.06 to 0.09 on average). So the published baseline stays the model's baseline and
no separate ``theta_model`` is fitted.

Known behaviour, measured on simulations with a known truth (``tests/forensics/
test_fingerprint.py``: 8,000 stations, 20 refits, seeds 0-5; "covered" counts the elections
whose 95% interval contains the injected share):

* data from the model itself (one Gaussian blob, θ = 0.3): extreme fraud (f_e = 0.05) and clean
  elections: f_i and f_e covered in 6/6; incremental fraud (f_i = 0.3) is fitted at 0.14-0.24
  (mean 0.19) and bias-corrected to 0.17-0.29 (mean 0.24): the correction removes about 40% of
  the bias and the interval covers 0.3 in 1/6 (percentile intervals: 0/6); f_e covered 6/6;
* heterogeneous simulated elections (``simulate_election``, one region of urban and rural
  blobs): f_e is covered in 6/6 in all three scenarios; f_i = 0.3 is fitted at 0.18-0.34 (mean
  0.23, bias-corrected mean 0.30) and covered in 3/6; clean elections and those with extreme
  fraud only fit a spurious f_i of up to 0.13, and their f_i intervals contain 0 in 2/6 only.
  The parametric bootstrap cannot see this misfit of the clean model (two blobs read as
  incremental fraud), so for f_i the intervals are too narrow whenever the clean stations are
  not one Gaussian blob: they are intervals *given the model*.

The refits also show that the distance can prefer a large (f_i, f_e) with α = 3 on a clean
election (a few refits in 20 end at the window's edge, reported as ``boot_at_edge``): the
noise correction makes spreading stations over empty bins nearly free. The percentiles are
robust to these few refits, but the fit itself can be unstable where they occur.

References
----------
Klimek, P., Yegorov, Y., Hanel, R. and Thurner, S. (2012). Statistical detection of systematic
election irregularities. *PNAS* 109(41), 16469-16473.

Kobak, D., Shpilkin, S. and Pshenichnikov, M. S. (2016). Statistical fingerprints of electoral
fraud? *Significance* 13(4), 20-23.

Mebane, W. R. and Egami, N. (2014-2015). Election Forensics Toolkit, ``ComputeKlimekModel``
(a port of Klimek's ``ElectionFitter.m``).

Examples
--------
>>> from saylau.forensics.simulate import simulate_election
>>> sim = simulate_election(stations=2000, regions=1, rng=3)
>>> res = fingerprint(sim.table, fit=False)
>>> 0.3 < res.tau < 0.8 and 0.3 < res.nu < 0.7
True
>>> res.hist2d.shape
(100, 100)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._exceptions import EmptyInputError, SaylauWarning
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._stations import station_arrays
from .klimek_fit import (
    KlimekFraudModel,
    _baseline,
    _hist_index,
    _single_thread_blas,
    simulate_klimek,
)

__all__ = [
    "CAVEAT",
    "FINDING",
    "FingerprintResult",
    "KlimekFraudModel",
    "fingerprint",
    "fingerprint_baseline",
    "simulate_klimek",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The warning every fitted fraud model carries.
CAVEAT = (
    "The fraud-model fit (f_i, f_e, alpha) is model-based: it assumes one Gaussian blob of clean "
    "stations and Klimek et al.'s two fraud mechanisms, and published refits of the same "
    "elections disagree widely (PNAS 2012 vs later refits). Heterogeneous regions alone can "
    "produce a non-zero fit; it is not a count of falsified stations. The intervals are a "
    "parametric bootstrap of the whole procedure (baseline re-estimated, bias-corrected), valid "
    "only given the model: on simulated elections whose clean stations are not one Gaussian "
    "blob the f_i intervals covered the injected share in 7 of 18 cases, and on the model's "
    "own data an injected f_i of 0.3 was still estimated at 0.24 on average after the bias "
    "correction (f_e was covered in every case). Elections above 10,000 stations get the "
    "(wider) spread of 10,000-station bootstraps."
)


#: The fingerprint's finding: an estimate under a fraud model, never an alarm. Its intervals
#: under-cover on clean heterogeneous elections (module docstring), so no test is built on them.
FINDING = Finding(
    alarm=False,
    kind="model",
    caveats=(
        "model-based: f_i and f_e are estimates under Klimek et al.'s fraud model, never an alarm",
        "intervals hold only given the model: clean elections of mixed regions fit a spurious "
        "f_i of up to 0.13 with intervals that exclude 0",
    ),
)


def fingerprint_baseline(
    turnout: npt.ArrayLike, share: npt.ArrayLike, *, floor: float = 0.3
) -> tuple[float, float, float, float, float]:
    """Kobak's baseline (τ, ν, σ_τ, σ_ν, θ) from per-station turnout and leader share.

    Parameters
    ----------
    turnout, share : array_like
        Issued / registered and leader / (valid + invalid), finite, one value per station.
    floor : float
        τ and ν are the first local maxima of the densities above this value (0.3).

    Returns
    -------
    tuple of float
        ``(tau, nu, sigma_tau, sigma_nu, theta)``.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.random.default_rng(1)
    >>> t, v = g.normal(0.6, 0.08, 5000), g.normal(0.5, 0.07, 5000)
    >>> tau, nu, sigma_tau, sigma_nu, theta = fingerprint_baseline(t, v)
    >>> abs(tau - 0.6) < 0.03 and abs(nu - 0.5) < 0.03
    True
    """
    t = np.asarray(turnout, dtype=np.float64)
    v = np.asarray(share, dtype=np.float64)
    b = _baseline(t, v, floor)
    return (b.tau, b.nu, b.sigma_tau, b.sigma_nu, b.theta)


@dataclasses.dataclass(frozen=True)
class _Uncertainty:
    """The bootstrap summaries of (f_i, f_e, α) that a result carries (None: no bootstrap)."""

    f_i_se: float | None = None
    f_e_se: float | None = None
    alpha_se: float | None = None
    f_i_ci: tuple[float, float] | None = None
    f_e_ci: tuple[float, float] | None = None
    alpha_ci: tuple[float, float] | None = None
    f_i_bias: float | None = None
    f_e_bias: float | None = None
    alpha_bias: float | None = None
    f_i_corrected: float | None = None
    f_e_corrected: float | None = None
    alpha_corrected: float | None = None
    f_i_ci_percentile: tuple[float, float] | None = None
    f_e_ci_percentile: tuple[float, float] | None = None
    alpha_ci_percentile: tuple[float, float] | None = None
    boot_stations: int | None = None
    boot_at_edge: int | None = None


def _intervals(
    model: KlimekFraudModel, boot: FloatArray, f_step: float, alphas: Sequence[float]
) -> _Uncertainty:
    """Bias, standard errors, basic and percentile intervals from the bootstrap refits."""
    est = np.array([model.f_i_, model.f_e_, model.alpha_])
    reps = boot.shape[0]
    se = boot.std(axis=0, ddof=1) if reps > 1 else np.full(3, np.nan)
    se = np.where(np.ptp(boot, axis=0) == 0, 0.0, se)  # no round-off "spread"
    bias = boot.mean(axis=0) - est
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    # basic interval, widened by the lattice's half step (α: half the smallest gap)
    gaps = np.diff(np.sort(np.asarray(alphas, dtype=np.float64)))
    half = np.array([f_step, f_step, float(gaps.min()) if gaps.size else 0.0]) / 2
    low = np.array([0.0, 0.0, float(min(alphas))])
    high = np.array([1.0, 1.0, float(max(alphas))])
    b_lo = np.clip(2 * est - hi - half, low, high)
    b_hi = np.clip(2 * est - lo + half, low, high)
    corrected = np.clip(est - bias, low, high)

    def pair(a: FloatArray, b: FloatArray, k: int) -> tuple[float, float]:
        return (float(a[k]), float(b[k]))

    return _Uncertainty(
        f_i_se=float(se[0]),
        f_e_se=float(se[1]),
        alpha_se=float(se[2]),
        f_i_ci=pair(b_lo, b_hi, 0),
        f_e_ci=pair(b_lo, b_hi, 1),
        alpha_ci=pair(b_lo, b_hi, 2),
        f_i_bias=float(bias[0]),
        f_e_bias=float(bias[1]),
        alpha_bias=float(bias[2]),
        f_i_corrected=float(corrected[0]),
        f_e_corrected=float(corrected[1]),
        alpha_corrected=float(corrected[2]),
        f_i_ci_percentile=pair(lo, hi, 0),
        f_e_ci_percentile=pair(lo, hi, 1),
        alpha_ci_percentile=pair(lo, hi, 2),
        boot_stations=int(model.bootstrap_stations_),
        boot_at_edge=int(model.bootstrap_at_edge_),
    )


# ------------------------------------------------------------------------------ result
@dataclasses.dataclass(frozen=True, eq=False)
class FingerprintResult(Result):
    """The election fingerprint, its baseline parameters and the fitted fraud model.

    Attributes
    ----------
    tau, nu : float
        Modes of turnout and leader share (first local maxima above 0.3 of their KDEs).
    sigma_tau, sigma_nu, theta : float
        Baseline spreads (see the module docstring).
    f_i, f_e, alpha : float or None
        Fitted incremental and extreme fraud shares and the vote-moving exponent (None when
        ``fit=False``).
    f_i_se, f_e_se, alpha_se : float or None
        Standard deviations of the bootstrap refits (whole procedure, baseline re-estimated).
    f_i_ci, f_e_ci, alpha_ci : tuple of float or None
        95% basic bootstrap intervals ``(2 f - q97.5, 2 f - q2.5)`` of the refits ``q``,
        widened by half a lattice step on each side (the fit's resolution) and clipped to
        the parameter range: the bias-corrected intervals.
    f_i_bias, f_e_bias, alpha_bias : float or None
        Bootstrap estimate of the estimator's bias: mean of the refits minus the fit.
    f_i_corrected, f_e_corrected, alpha_corrected : float or None
        Bias-corrected estimates ``fit - bias`` (clipped to the parameter range).
    f_i_ci_percentile, f_e_ci_percentile, alpha_ci_percentile : tuple of float or None
        95% percentile intervals of the refits (not bias-corrected).
    boot_stations : int or None
        Stations in each bootstrap election (``min(n_fit, boot_stations)``).
    boot_at_edge : int or None
        Refits that ended on the edge of the lattice window they searched.
    distance : float or None
        Weighted distance Σ (sim − obs)² / (obs + 1) between the observed and the fitted
        model's 2-point histograms (minus the simulation noise), at the optimum.
    alpha_profile : dict or None
        The smallest distance reached with each candidate α (how well α is determined).
    hist2d : ndarray, shape (100, 100)
        Stations per 1-point turnout bin (rows) and 1-point leader-share bin (columns), [0, 1].
    nobs : int
        Stations in the baseline (usable, valid + invalid > 0).
    n_fit : int
        Stations in the fit and the histogram (turnout <= 1 as well).
    excluded : dict
        Stations left out, by rule (the table-wide rules of ``_stations`` and this method's own).
    leader : str
    bootstrap : int
        Refits behind the standard errors.
    caveat : str
    method : str
    finding : Finding
        Kind ``model``: never an alarm (:data:`FINDING`).
    """

    tau: float
    nu: float
    sigma_tau: float
    sigma_nu: float
    theta: float
    f_i: float | None
    f_e: float | None
    alpha: float | None
    f_i_se: float | None
    f_e_se: float | None
    alpha_se: float | None
    f_i_ci: tuple[float, float] | None
    f_e_ci: tuple[float, float] | None
    alpha_ci: tuple[float, float] | None
    f_i_bias: float | None
    f_e_bias: float | None
    alpha_bias: float | None
    f_i_corrected: float | None
    f_e_corrected: float | None
    alpha_corrected: float | None
    f_i_ci_percentile: tuple[float, float] | None
    f_e_ci_percentile: tuple[float, float] | None
    alpha_ci_percentile: tuple[float, float] | None
    boot_stations: int | None
    boot_at_edge: int | None
    distance: float | None
    alpha_profile: dict[str, float] | None
    hist2d: IntArray
    nobs: int
    n_fit: int
    excluded: dict[str, int]
    leader: str
    bootstrap: int
    caveat: str
    method: str
    finding: Finding = FINDING

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; the histogram as a list of rows."""
        return super().to_dict()


def fingerprint(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    fit: bool = True,
    bootstrap: int = 50,
    f_step: float = 0.01,
    alphas: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 3.0),
    boot_stations: int = 10_000,
    rng: int | np.random.Generator | None = None,
) -> FingerprintResult:
    """The election fingerprint with Kobak's baseline and Klimek et al.'s fitted fraud model.

    Parameters
    ----------
    table : ProtocolTable
        Precinct protocols.
    leader : str, Choice or None
        The choice whose share is studied; the contender with most votes by default.
    fit : bool
        Fit the fraud model (f_i, f_e, α) by simulation; otherwise only the baseline.
    bootstrap : int
        Parametric-bootstrap refits of the whole procedure (baseline re-estimated) for the
        bias, standard errors and intervals (0 to skip).
    f_step, alphas
        Lattice of f_i, f_e and candidate α values (see :class:`KlimekFraudModel`).
    boot_stations : int
        Larger elections are bootstrapped on this many stations, their spread kept as an upper
        bound (see :meth:`KlimekFraudModel.bootstrap`).
    rng : int or numpy.random.Generator, optional
        Seed of the model simulations; the baseline is deterministic.

    Returns
    -------
    FingerprintResult

    Raises
    ------
    EmptyInputError
        When fewer than two stations have ballots.
    SaylauInputError
        When the turnouts or the shares are all equal (no density to estimate).

    Warns
    -----
    SaylauWarning
        When a baseline spread is undefined (no station below a mode): the fit is skipped.
    UnknownNameError
        When ``leader`` names no choice or several.

    Notes
    -----
    Stations used: the usable rows (see ``saylau.forensics._stations``) with valid + invalid
    > 0; the baseline takes them all, the histogram and the fit only those with turnout <= 1.

    References
    ----------
    Klimek et al. (2012), PNAS 109(41); Kobak, Shpilkin & Pshenichnikov (2016), Significance.

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election, FraudSpec
    >>> sim = simulate_election(stations=1500, regions=1,
    ...                         fraud=FraudSpec(kind="extreme", share=0.1), rng=5)
    >>> res = fingerprint(sim.table, bootstrap=0, rng=1)
    >>> res.f_e is not None and res.f_e > 0.05
    True
    """
    arr = station_arrays(table, leader=leader, level=None)
    excluded = {k: v for k, v in arr.quality.counts.items() if k in ("empty", "zero_registered")}
    has = arr.cast > 0
    excluded["no_ballots_cast"] = int((~has).sum())
    reg = arr.registered[has]
    t = arr.issued[has] / reg
    v = arr.leader[has] / arr.cast[has]
    if t.size < 2:
        raise EmptyInputError(
            "fingerprint needs at least two stations with ballots",
            file=table.source,
            expected=">= 2 stations",
            found=t.size,
        )
    base = _baseline(t, v)
    in_fit = t <= 1.0
    excluded["turnout_above_100pct_not_in_fit"] = int((~in_fit).sum())
    hist = np.bincount(_hist_index(t[in_fit], v[in_fit], 100), minlength=10_000).reshape(100, 100)
    f_i = f_e = alpha = distance = None
    unc = _Uncertainty()
    alpha_profile: dict[str, float] | None = None
    params = (base.sigma_tau, base.sigma_nu, base.theta)
    if fit and not all(math.isfinite(x) and x > 0 for x in params):
        warnings.warn(
            "fingerprint: baseline spread undefined (too few stations below or above the "
            f"modes: sigma_tau, sigma_nu, theta = {params}); fraud model not fitted",
            SaylauWarning,
            stacklevel=2,
        )
        fit = False
    if fit:
        gen = np.random.default_rng(rng)
        # canonical station order, so that the simulations do not depend on the row order
        sel = np.flatnonzero(in_fit)
        sel = sel[np.lexsort((v[sel], t[sel], reg[sel]))]
        with _single_thread_blas():
            model = KlimekFraudModel(f_step=f_step, alphas=alphas, rng=gen).fit(
                reg[sel],
                t[sel],
                v[sel],
                baseline=(base.tau, base.nu, base.sigma_tau, base.sigma_nu, base.theta),
            )
        f_i, f_e, alpha, distance = model.f_i_, model.f_e_, model.alpha_, model.distance_
        alpha_profile = {
            f"{a:g}": float(d) for a, d in zip(alphas, model.alpha_profile_, strict=True)
        }
        if bootstrap > 0:
            boot = model.bootstrap(bootstrap, rng=gen, max_stations=boot_stations)
            unc = _intervals(model, boot, f_step, alphas)
    return FingerprintResult(
        tau=base.tau,
        nu=base.nu,
        sigma_tau=base.sigma_tau,
        sigma_nu=base.sigma_nu,
        theta=base.theta,
        f_i=f_i,
        f_e=f_e,
        alpha=alpha,
        **dataclasses.asdict(unc),
        distance=distance,
        alpha_profile=alpha_profile,
        hist2d=hist,
        nobs=int(t.size),
        n_fit=int(in_fit.sum()),
        excluded=excluded,
        leader=arr.leader_name,
        bootstrap=bootstrap if f_i is not None else 0,
        caveat=CAVEAT,
        method="Kobak's baseline (exact Gaussian KDE, Scott bandwidth, grid step 0.001); "
        "Klimek et al.'s fraud model fitted by simulated 2-D histograms (Neyman chi-square), "
        "parametric bootstrap of the whole procedure (baseline re-estimated; basic, "
        "bias-corrected intervals)",
    )
