"""Klimek et al.'s fraud model: generator, simulated-histogram fit and its bootstrap.

Split from :mod:`saylau.forensics.fingerprint` (module size); the model, the fit and the
uncertainty are described in that module's docstring. Kobak's baseline procedure lives here
too, because the bootstrap re-applies it to every simulated election.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._exceptions import SaylauInputError
from .kde import gaussian_kde_grid

__all__ = ["KlimekFraudModel", "simulate_klimek"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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


def _single_thread_blas() -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread for the fit's many mid-sized products, when threadpoolctl is there.

    Each product is too small to gain from a second thread, and on a shared machine OpenBLAS's
    spinning threads make the bootstrap up to ten times slower (the pattern of
    ``saylau.forensics.digits``); without threadpoolctl nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limiter


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
        self._window: tuple[int, int, int, int] | None = None

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
        seg_of_rank = np.repeat(np.arange(steps), np.diff(cuts))  # segment of each rank
        # per replicate: the segment of each station and its bin in each simulation
        # (clean, then incremental and extreme fraud for each alpha)
        segs: list[IntArray] = []
        cells: list[list[IntArray]] = []
        for _ in range(self.replicates):
            d = _draws(registered, base, gen)
            segs.append(seg_of_rank[d.rank])
            row = [_hist_index(*_apply(registered, d, np.zeros(n), 1.0), self.bins)]
            for a in self.alphas:
                row.append(_hist_index(*_apply(registered, d, d.x_inc, a), self.bins))
                row.append(_hist_index(*_apply(registered, d, d.x_ext, a), self.bins))
            cells.append(row)
        # only bins that some simulation reaches vary with the parameters
        reach = np.zeros(nb, dtype=bool)
        for row in cells:
            for c in row:
                reach[c] = True
        self._active = np.flatnonzero(reach)
        width = self._active.size
        compact = np.zeros(nb, dtype=np.int64)
        compact[self._active] = np.arange(width)

        # stations per (segment, simulation, active bin), summed over the replicates, then
        # cumulated over the segments: p[s, k] = stations of the first s segments
        kinds = len(cells[0])
        size = steps * kinds * width
        counts = np.zeros(size, dtype=np.int64)
        for seg, row in zip(segs, cells, strict=True):
            base_key = seg * (kinds * width)
            key = np.concatenate([base_key + (k * width) + compact[c] for k, c in enumerate(row)])
            counts += np.bincount(key, minlength=size)
        h = counts.reshape(steps, kinds, width)
        p = np.zeros((steps + 1, kinds, width))
        for s in range(steps):  # segment by segment: faster than cumsum along axis 0
            np.add(p[s], h[s], out=p[s + 1])
        # the simulated histogram is the mean over the replicates (its noise shrinks with them)
        inv = 1.0 / self.replicates
        pc = p[:, 0]
        mats: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        for k in range(len(self.alphas)):
            pi, pe = p[:, 1 + 2 * k], p[:, 2 + 2 * k]
            # sim(a, c) - obs = (inc[a] - ext[a]) + (ext[c] - clean[c]) + (clean[S] - obs)
            u = np.subtract(pi, pe)
            u *= inv
            v = np.subtract(pe, pc)
            v *= inv
            mats.append((u, v, pc[steps] * inv))
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
        # the lattice searched: rows a = f_i / f_step, columns c = (f_i + f_e) / f_step,
        # the whole triangle c >= a unless a window (a_lo, a_hi, e_lo, e_hi) was set
        a_lo, a_hi, e_lo, e_hi = self._window or (0, steps, 0, steps)
        a_idx = np.arange(a_lo, a_hi + 1)
        c_idx = np.arange(min(a_lo + e_lo, steps), min(a_hi + e_hi, steps) + 1)
        e = c_idx[None, :] - a_idx[:, None]
        self._a_idx, self._c_idx = a_idx, c_idx
        self._invalid = (e < e_lo) | (e > e_hi)
        reps = self.replicates
        terms = []
        for u0, v0, last in self._mats:
            u0, v0 = u0[a_idx], v0[c_idx]
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
            i, j = np.unravel_index(int(np.argmin(total)), total.shape)
            a, c = int(self._a_idx[i]), int(self._c_idx[j])
            profile[k] = total[i, j]
            if total[i, j] < best[0]:
                best = (float(total[i, j]), a / steps, (c - a) / steps, float(alpha))
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
            (τ, ν, σ_τ, σ_ν, θ); Kobak's baseline of ``turnout`` and ``share`` when omitted.

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

    def _simulate_fitted(
        self, registered: IntArray, gen: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        b = self._base
        return simulate_klimek(
            registered,
            tau=b.tau,
            nu=b.nu,
            sigma_tau=b.sigma_tau,
            sigma_nu=b.sigma_nu,
            theta=b.theta,
            f_i=self.f_i_,
            f_e=self.f_e_,
            alpha=self.alpha_,
            rng=gen,
        )

    def bootstrap(
        self,
        replicates: int = 20,
        rng: int | np.random.Generator | None = None,
        *,
        refit_baseline: bool = True,
        max_stations: int = 10_000,
        window: float = 0.25,
        rate: float = 0.0,
    ) -> FloatArray:
        """Parametric bootstrap of the whole estimator; rows of (f_i, f_e, α), one per refit.

        Each replicate simulates an election from the fitted model (fitted baseline, f_i, f_e,
        α) and applies the estimator to it as to data: Kobak's baseline is re-estimated from
        the simulated stations, then f_i, f_e, α are refitted with fresh model simulations and
        the simulated election's own weights. The spread thus includes the baseline's
        estimation error, and the refits' mean minus the fit estimates the estimator's bias
        (as far as the fitted model resembles the truth).

        Parameters
        ----------
        replicates : int
            Number of refits.
        rng : int or numpy.random.Generator, optional
        refit_baseline : bool
            ``False``: the old, cheaper scheme that holds the baseline, the model simulations
            and the weights of the fit fixed and only rescores simulated elections (it
            understates the uncertainty; kept for comparison).
        max_stations : int
            Elections larger than this are bootstrapped on a random subset of ``m`` stations
            (their electorates): an m-out-of-n bootstrap (Bickel, Götze & van Zwet 1997).
            The refits' mean, hence the bias estimate, is taken as it is.
        window : float
            Refits search the (f_i, f_e) lattice within ``window`` of the fitted values (the
            lattice's whole triangle when ``window >= 1``); ``bootstrap_at_edge_`` counts the
            refits that end on the window's edge.
        rate : float
            With ``m < n``, each refit's deviation from the refits' mean is multiplied by
            ``(m / n) ** rate``. The default 0 keeps the spread of m-station elections, an
            upper bound for n stations; 0.5 would be the root-n rate, which understated the
            full-size spread on Russia 2011 by 30-55% (the lattice, not root-n, sets the
            spread there; see the module docstring of ``saylau.forensics.fingerprint``).

        Returns
        -------
        ndarray, shape (replicates, 3)
            Also stored as ``bootstrap_``, with ``bootstrap_raw_`` (before rescaling),
            ``bootstrap_baselines_`` (the re-estimated baselines, NaN when undefined),
            ``bootstrap_stations_`` (m) and ``bootstrap_at_edge_``.
        """
        with _single_thread_blas():
            return self._bootstrap(replicates, rng, refit_baseline, max_stations, window, rate)

    def _bootstrap(
        self,
        replicates: int,
        rng: int | np.random.Generator | None,
        refit_baseline: bool,
        max_stations: int,
        window: float,
        rate: float,
    ) -> FloatArray:
        gen = np.random.default_rng(rng)
        reg = self._registered
        n = reg.size
        out = np.empty((replicates, 3))
        bases = np.full((replicates, 5), np.nan)
        if not refit_baseline:
            for b in range(replicates):
                t, v = self._simulate_fitted(reg, gen)
                obs = np.bincount(
                    _hist_index(t, v, self.bins), minlength=self.bins * self.bins
                ).astype(np.float64)
                out[b] = self._score(obs)[1:4]
            self._store_bootstrap(out, out, bases, n, 0)
            return out
        m = min(n, max(max_stations, 2))
        steps = self._steps
        half = max(1, round(window * steps))
        a0, e0 = round(self.f_i_ * steps), round(self.f_e_ * steps)
        win = (max(a0 - half, 0), min(a0 + half, steps), max(e0 - half, 0), min(e0 + half, steps))
        edge = 0
        for b in range(replicates):
            sub = reg if m == n else reg[np.sort(gen.choice(n, m, replace=False))]
            t, v = self._simulate_fitted(sub, gen)
            base = _baseline(t, v)
            bases[b] = dataclasses.astuple(base)
            refit = KlimekFraudModel(
                f_step=self.f_step,
                alphas=self.alphas,
                bins=self.bins,
                replicates=self.replicates,
                rng=gen,
            )
            if all(math.isfinite(x) and x > 0 for x in bases[b, 2:]):
                refit._window = win if window < 1 else None
                refit.fit(sub, t, v, baseline=bases[b].tolist())
            else:  # no spread to simulate with: the procedure would not fit; keep the truth
                refit = self
            out[b] = (refit.f_i_, refit.f_e_, refit.alpha_)
            a, e = round(out[b, 0] * steps), round(out[b, 1] * steps)
            on_edge = (a in win[:2] and 0 < a < steps) or (e in win[2:] and 0 < e < steps)
            edge += int(window < 1 and on_edge)
        raw = out.copy()
        if m < n:
            centre = raw.mean(axis=0)
            out = centre + (m / n) ** rate * (raw - centre)
        self._store_bootstrap(out, raw, bases, m, edge)
        return out

    def _store_bootstrap(
        self, out: FloatArray, raw: FloatArray, bases: FloatArray, m: int, edge: int
    ) -> None:
        self.bootstrap_ = out
        self.bootstrap_raw_ = raw
        self.bootstrap_baselines_ = bases
        self.bootstrap_stations_ = m
        self.bootstrap_at_edge_ = edge
