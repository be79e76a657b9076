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
per-segment histograms and one matrix product per α. The uncertainty is a parametric
bootstrap: elections simulated from the fitted model are refitted (the baseline is held
fixed). This fit rests on strong assumptions (one Gaussian blob, two fraud mechanisms) and
published refits of the same data disagree widely; read it as model-based.

Known behaviour, from simulations with a known truth (``tests/forensics/test_fingerprint.py``):
with the true baseline the fit recovers f_i and f_e within a few standard errors; extreme
fraud is recovered with the baseline estimated from the data as well; but incremental fraud is
underestimated when the baseline comes from contaminated data (θ, estimated from the stations
above ν, absorbs the fraud's smear: f_i = 0.3 fitted at about 0.2 in our runs), and a clean
but heterogeneous election (urban and rural blobs) can fit a small f_i (0.05-0.15).

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

from .._exceptions import EmptyInputError, SaylauInputError, SaylauWarning
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Result
from ._stations import station_arrays
from .kde import gaussian_kde_grid

__all__ = [
    "CAVEAT",
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
    "produce a non-zero fit; it is not a count of falsified stations. The standard errors are "
    "a parametric bootstrap that holds the baseline fixed and ignore model misfit: they "
    "understate the real uncertainty."
)

_EXTREME_SD = 0.075


def _first_peak_above(density: FloatArray, start: float, step: float, floor: float) -> float:
    """Grid value of the first local maximum strictly above ``floor`` (global max if none).

    Maxima below 1e-9 of the highest density are ignored: there the values are round-off
    (the exact and SciPy's evaluations agree to ~1e-13 of the maximum, not better).
    """
    first = max(math.floor((floor - start) / step + 0.5) + 1, 1)
    d = density
    i = np.arange(first, d.size - 1)
    peaks = i[(d[i] > d[i - 1]) & (d[i] >= d[i + 1]) & (d[i] > 1e-9 * d.max())]
    j = int(peaks[0]) if peaks.size else int(np.argmax(d))
    return float(start + j * step)


@dataclasses.dataclass(frozen=True)
class _Baseline:
    tau: float
    nu: float
    sigma_tau: float
    sigma_nu: float
    theta: float


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


def _rms(x: FloatArray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else float("nan")


def _baseline(t: FloatArray, v: FloatArray, floor: float = 0.3) -> _Baseline:
    tau = _first_peak_above(gaussian_kde_grid(t), 0.0, 0.001, floor)
    nu = _first_peak_above(gaussian_kde_grid(v), 0.0, 0.001, floor)
    # the grid value as the reference computes it (0.529, not 0.529000000004)
    tau, nu = round(tau, 3), round(nu, 3)
    sigma_tau = _rms(t[(t < tau) & (v < nu)] - tau)
    sigma_nu = _rms(v[v < nu] - nu)
    above = v[v > nu] - nu
    theta = float(np.mean(above * above) ** 0.25) if above.size else float("nan")
    return _Baseline(tau, nu, sigma_tau, sigma_nu, theta)


# ------------------------------------------------------------------------------ the model
def _truncated_normal(
    mean: float, sd: float, size: int, gen: np.random.Generator, lo: float = 0.0, hi: float = 1.0
) -> FloatArray:
    out = gen.normal(mean, sd, size)
    bad = np.flatnonzero((out < lo) | (out > hi))
    while bad.size:
        out[bad] = gen.normal(mean, sd, bad.size)
        bad = bad[(out[bad] < lo) | (out[bad] > hi)]
    return out


def _intensity(kind: str, theta: float, size: int, gen: np.random.Generator) -> FloatArray:
    sd = theta if kind == "incremental" else _EXTREME_SD
    out = np.empty(size)
    todo = np.arange(size)
    while todo.size:
        z = np.abs(gen.normal(0.0, sd, todo.size))
        x = z if kind == "incremental" else 1.0 - z
        ok = (x > 0) & (x < 1)
        out[todo[ok]] = x[ok]
        todo = todo[~ok]
    return out


@dataclasses.dataclass(frozen=True)
class _Draws:
    """Common random numbers of one model simulation (one per station)."""

    voters: IntArray
    leader: IntArray
    x_inc: FloatArray
    x_ext: FloatArray
    rank: IntArray


def _draws(registered: IntArray, base: _Baseline, gen: np.random.Generator) -> _Draws:
    n = registered.size
    t = _truncated_normal(base.tau, base.sigma_tau, n, gen)
    v = _truncated_normal(base.nu, base.sigma_nu, n, gen)
    voters = np.rint(registered * t).astype(np.int64)
    leader = np.rint(voters * v).astype(np.int64)
    return _Draws(
        voters=voters,
        leader=leader,
        x_inc=_intensity("incremental", base.theta, n, gen),
        x_ext=_intensity("extreme", base.theta, n, gen),
        rank=gen.permutation(n),
    )


def _apply(
    registered: IntArray, d: _Draws, x: FloatArray, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Turnout and leader share of every station if all were manipulated with intensity x."""
    stuffed = np.floor(x * (registered - d.voters))
    moved = np.rint(x**alpha * (d.voters - d.leader))
    voters = d.voters + stuffed
    leader = d.leader + stuffed + moved
    return voters / registered, np.where(voters > 0, leader / np.maximum(voters, 1), 0.0)


def simulate_klimek(
    registered: npt.ArrayLike,
    *,
    tau: float,
    nu: float,
    sigma_tau: float,
    sigma_nu: float,
    theta: float,
    f_i: float = 0.0,
    f_e: float = 0.0,
    alpha: float = 1.0,
    rng: int | np.random.Generator | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Turnout and leader share of stations simulated by Klimek et al.'s fraud model.

    Parameters
    ----------
    registered : array_like of int
        Electorate of each station.
    tau, nu, sigma_tau, sigma_nu, theta : float
        Baseline parameters (see :func:`fingerprint_baseline`).
    f_i, f_e : float
        Shares of stations under incremental and extreme fraud (``f_i + f_e <= 1``).
    alpha : float
        Exponent of the share of the others' votes moved to the leader.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    (turnout, share) : tuple of ndarray

    Examples
    --------
    >>> t, v = simulate_klimek([1000] * 1000, tau=0.5, nu=0.5, sigma_tau=0.05, sigma_nu=0.05,
    ...                        theta=0.4, f_e=0.1, rng=0)
    >>> int(((t > 0.9) & (v > 0.9)).sum()) >= 90
    True
    """
    reg = np.asarray(registered, dtype=np.int64)
    if f_i < 0 or f_e < 0 or f_i + f_e > 1:
        raise SaylauInputError(
            "fraud shares out of range",
            field="f_i/f_e",
            expected="f_i, f_e >= 0 and f_i + f_e <= 1",
            found=(f_i, f_e),
        )
    gen = np.random.default_rng(rng)
    n = reg.size
    t = _truncated_normal(tau, sigma_tau, n, gen)
    v = _truncated_normal(nu, sigma_nu, n, gen)
    voters = np.rint(reg * t).astype(np.int64)
    leader = np.rint(voters * v).astype(np.int64)
    turnout = voters / reg
    share = np.where(voters > 0, leader / np.maximum(voters, 1), 0.0)
    k_i, k_e = round(f_i * n), round(f_e * n)
    rows = gen.permutation(n)[: k_i + k_e]
    for kind, idx in (("incremental", rows[:k_i]), ("extreme", rows[k_i:])):
        if idx.size == 0:
            continue
        x = _intensity(kind, theta, idx.size, gen)
        stuffed = np.floor(x * (reg[idx] - voters[idx]))
        moved = np.rint(x**alpha * (voters[idx] - leader[idx]))
        new_voters = voters[idx] + stuffed
        turnout[idx] = new_voters / reg[idx]
        share[idx] = np.where(
            new_voters > 0, (leader[idx] + stuffed + moved) / np.maximum(new_voters, 1), 0.0
        )
    return turnout, share


def _mean_of(arrays: list[FloatArray]) -> FloatArray:
    out = np.zeros_like(arrays[0])
    for a in arrays:
        out += a
    return out / len(arrays)


def _hist_index(t: FloatArray, v: FloatArray, bins: int) -> IntArray:
    ti = np.clip(np.floor(t * bins), 0, bins - 1).astype(np.int64)
    vi = np.clip(np.floor(v * bins), 0, bins - 1).astype(np.int64)
    return ti * bins + vi


class KlimekFraudModel:
    """Klimek et al.'s fraud model, fitted to a 2-D histogram by simulation.

    Follows scikit-learn's convention: the constructor only stores the options, :meth:`fit`
    returns ``self`` and the learned attributes end in ``_``.

    Parameters
    ----------
    f_step : float
        Lattice step of f_i and f_e (``1 / f_step`` must be an integer).
    alphas : sequence of float
        Candidate values of α.
    bins : int
        Bins per axis of the histograms compared (``bins = 50``: 2-point bins).
    replicates : int
        Independent model simulations whose distances are averaged (smooths the objective).
    rng : int or numpy.random.Generator, optional
        Source of the common random numbers.

    Attributes
    ----------
    f_i_, f_e_, alpha_ : float
        Fitted parameters.
    distance_ : float
        The weighted distance Σ (sim − obs)² / (obs + 1) at the optimum.
    alpha_profile_ : ndarray
        The smallest distance for each candidate α.
    baseline_ : tuple of float
        The baseline used (τ, ν, σ_τ, σ_ν, θ).

    Examples
    --------
    >>> reg = np.full(3000, 1500)
    >>> t, v = simulate_klimek(reg, tau=0.5, nu=0.45, sigma_tau=0.06, sigma_nu=0.06,
    ...                        theta=0.45, f_i=0.2, f_e=0.05, alpha=1.0, rng=1)
    >>> m = KlimekFraudModel(rng=2).fit(reg, t, v, baseline=(0.5, 0.45, 0.06, 0.06, 0.45))
    >>> abs(m.f_e_ - 0.05) < 0.02
    True
    """

    def __init__(
        self,
        *,
        f_step: float = 0.01,
        alphas: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 3.0),
        bins: int = 50,
        replicates: int = 2,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.f_step = f_step
        self.alphas = alphas
        self.bins = bins
        self.replicates = replicates
        self.rng = rng

    # the per-alpha matrices depend only on the draws, not on the observed histogram
    def _prepare(self, registered: IntArray, base: _Baseline) -> None:
        gen = np.random.default_rng(self.rng)
        steps = round(1.0 / self.f_step)
        if not math.isclose(steps * self.f_step, 1.0):
            raise SaylauInputError(
                "1 / f_step must be an integer",
                field="f_step",
                expected="e.g. 0.01 or 0.005",
                found=self.f_step,
            )
        n = registered.size
        nb = self.bins * self.bins
        self._steps = steps
        cuts = np.rint(np.arange(steps + 1) * n / steps).astype(np.int64)
        raw: list[tuple[IntArray, list[tuple[IntArray, IntArray]]]] = []
        for _ in range(self.replicates):
            d = _draws(registered, base, gen)
            seg = np.searchsorted(cuts, d.rank, side="right") - 1  # segment of each station

            def seg_hist(x: FloatArray, a: float, d: _Draws = d, seg: IntArray = seg) -> IntArray:
                t, v = _apply(registered, d, x, a)
                return np.bincount(
                    seg * nb + _hist_index(t, v, self.bins), minlength=steps * nb
                ).reshape(steps, nb)

            clean = seg_hist(np.zeros(n), 1.0)
            frauds = [(seg_hist(d.x_inc, a), seg_hist(d.x_ext, a)) for a in self.alphas]
            raw.append((clean, frauds))
        # only bins that some simulation reaches vary with the parameters
        reach = np.zeros(nb, dtype=bool)
        for clean, frauds in raw:
            reach |= clean.any(axis=0)
            for inc, ext in frauds:
                reach |= inc.any(axis=0) | ext.any(axis=0)
        self._active = np.flatnonzero(reach)

        def prefix(h: IntArray) -> FloatArray:
            p = np.zeros((steps + 1, self._active.size))
            np.cumsum(h[:, self._active], axis=0, out=p[1:])
            return p

        # the simulated histogram is the mean over the replicates (its noise shrinks with them)
        mats: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        for k in range(len(self.alphas)):
            pc = _mean_of([prefix(clean) for clean, _ in raw])
            pi = _mean_of([prefix(frauds[k][0]) for _, frauds in raw])
            pe = _mean_of([prefix(frauds[k][1]) for _, frauds in raw])
            # sim(a, c) - obs = (inc[a] - ext[a]) + (ext[c] - clean[c]) + (clean[S] - obs)
            mats.append((pi - pe, pe - pc, pc[steps]))
        self._mats = mats

    def _weigh(self, observed: FloatArray) -> None:
        """Fix the weights 1 / (observed + 1) and precompute the parameter-only terms."""
        steps = self._steps
        rest = np.ones(observed.size, dtype=bool)
        rest[self._active] = False
        self._rest = rest
        sw = 1.0 / np.sqrt(observed[self._active] + 1.0)
        self._sqrt_w = sw
        self._rest_w = 1.0 / (observed[rest] + 1.0)
        a_idx = np.arange(steps + 1)
        self._invalid = a_idx[None, :] < a_idx[:, None]  # c < a
        reps = self.replicates
        terms = []
        for u0, v0, last in self._mats:
            u = u0 * sw
            v = v0 * sw
            quad = (u * u).sum(1)[:, None] + (v * v).sum(1)[None, :] + 2.0 * (u @ v.T)
            # minus the expected noise of the simulated histogram, Σ w·sim / replicates
            # (Poisson approximation), which would otherwise penalise fraud that spreads
            # stations over sparse bins
            w = sw * sw
            noise = (
                (u0 * w).sum(1)[:, None] + (v0 * w).sum(1)[None, :] + float((last * w).sum())
            ) / reps
            terms.append((quad - noise, u, v, last * sw))
        self._terms = terms

    def _score(self, observed: FloatArray) -> tuple[float, float, float, float, FloatArray]:
        """Best (distance, f_i, f_e, alpha) for an observed histogram, and the α profile."""
        steps = self._steps
        constant = float((observed[self._rest] ** 2 * self._rest_w).sum())
        obs_w = observed[self._active] * self._sqrt_w
        best = (math.inf, 0.0, 0.0, 0.0)
        profile = np.empty(len(self.alphas))
        for k, alpha in enumerate(self.alphas):
            quad, u_bar, v_bar, last_w = self._terms[k]
            r = last_w - obs_w  # (clean[S] - obs) * sqrt(w), averaged over replicates
            total = (
                quad
                + 2.0 * (u_bar @ r)[:, None]
                + 2.0 * (v_bar @ r)[None, :]
                + float(r @ r)
                + constant
            )
            total[self._invalid] = np.inf
            a, c = np.unravel_index(int(np.argmin(total)), total.shape)
            profile[k] = total[a, c]
            if total[a, c] < best[0]:
                best = (float(total[a, c]), float(a / steps), float((c - a) / steps), float(alpha))
        return (*best, profile)

    def fit(
        self,
        registered: npt.ArrayLike,
        turnout: npt.ArrayLike,
        share: npt.ArrayLike,
        *,
        baseline: Sequence[float] | None = None,
    ) -> KlimekFraudModel:
        """Fit f_i, f_e and α to the stations' turnout and leader share.

        Parameters
        ----------
        registered : array_like of int
            Electorate of each station (the simulations use the same electorates).
        turnout, share : array_like
            Observed turnout and leader share, in [0, 1].
        baseline : sequence of 5 floats, optional
            (τ, ν, σ_τ, σ_ν, θ); computed by :func:`fingerprint_baseline` when omitted.

        Returns
        -------
        self
        """
        reg = np.asarray(registered, dtype=np.int64)
        t = np.asarray(turnout, dtype=np.float64)
        v = np.asarray(share, dtype=np.float64)
        base = _Baseline(*baseline) if baseline is not None else _baseline(t, v)
        self.baseline_ = (base.tau, base.nu, base.sigma_tau, base.sigma_nu, base.theta)
        self._registered = reg
        self._base = base
        self._prepare(reg, base)
        observed = np.bincount(
            _hist_index(t, v, self.bins), minlength=self.bins * self.bins
        ).astype(np.float64)
        self._weigh(observed)
        self.distance_, self.f_i_, self.f_e_, self.alpha_, self.alpha_profile_ = self._score(
            observed
        )
        return self

    def bootstrap(
        self, replicates: int = 20, rng: int | np.random.Generator | None = None
    ) -> FloatArray:
        """Refit elections simulated from the fitted model; rows of (f_i, f_e, α).

        The common random numbers and the weights of the fit are kept, the baseline is held
        fixed: the refits measure the sampling spread of the estimator given the baseline.
        """
        gen = np.random.default_rng(rng)
        out = np.empty((replicates, 3))
        for b in range(replicates):
            t, v = simulate_klimek(
                self._registered,
                tau=self._base.tau,
                nu=self._base.nu,
                sigma_tau=self._base.sigma_tau,
                sigma_nu=self._base.sigma_nu,
                theta=self._base.theta,
                f_i=self.f_i_,
                f_e=self.f_e_,
                alpha=self.alpha_,
                rng=gen,
            )
            obs = np.bincount(_hist_index(t, v, self.bins), minlength=self.bins * self.bins).astype(
                np.float64
            )
            _, fi, fe, al, _ = self._score(obs)
            out[b] = (fi, fe, al)
        return out


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
        Parametric-bootstrap standard errors.
    f_i_ci, f_e_ci, alpha_ci : tuple of float or None
        95% percentile intervals of the bootstrap refits.
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
        Parametric-bootstrap refits for the standard errors (0 to skip).
    f_step, alphas
        Lattice of f_i, f_e and candidate α values (see :class:`KlimekFraudModel`).
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
    f_i = f_e = alpha = f_i_se = f_e_se = alpha_se = distance = None
    f_i_ci = f_e_ci = alpha_ci = None
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
            boot = model.bootstrap(bootstrap, rng=gen)
            se = boot.std(axis=0, ddof=1) if bootstrap > 1 else np.full(3, np.nan)
            se = np.where(np.ptp(boot, axis=0) == 0, 0.0, se)  # no round-off "spread"
            lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
            f_i_se, f_e_se, alpha_se = (float(s) for s in se)
            f_i_ci, f_e_ci, alpha_ci = (
                (float(lo[0]), float(hi[0])),
                (float(lo[1]), float(hi[1])),
                (float(lo[2]), float(hi[2])),
            )
    return FingerprintResult(
        tau=base.tau,
        nu=base.nu,
        sigma_tau=base.sigma_tau,
        sigma_nu=base.sigma_nu,
        theta=base.theta,
        f_i=f_i,
        f_e=f_e,
        alpha=alpha,
        f_i_se=f_i_se,
        f_e_se=f_e_se,
        alpha_se=alpha_se,
        f_i_ci=f_i_ci,
        f_e_ci=f_e_ci,
        alpha_ci=alpha_ci,
        distance=distance,
        alpha_profile=alpha_profile,
        hist2d=hist,
        nobs=int(t.size),
        n_fit=int(in_fit.sum()),
        excluded=excluded,
        leader=arr.leader_name,
        bootstrap=bootstrap if fit else 0,
        caveat=CAVEAT,
        method="Kobak's baseline (exact Gaussian KDE, Scott bandwidth, grid step 0.001); "
        "Klimek et al.'s fraud model fitted by simulated 2-D histograms (Neyman chi-square), "
        "parametric bootstrap",
    )
