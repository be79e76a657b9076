"""Beta-binomial mixtures fitted by EM, as the R package ``spikes`` fits turnout and votes.

Split from :mod:`saylau.forensics.coarse` (module size), which uses them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from scipy import special, stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_LOG_BOUNDS = (-3.0, 6.0)  # spikes: L-BFGS-B bounds of log(alpha), log(beta)

__all__ = ["BetaBinomialMixture", "fit_beta_binomial_mixture"]


# ------------------------------------------------------------------------------ mixture
@dataclasses.dataclass(frozen=True)
class BetaBinomialMixture:
    """A fitted mixture of beta-binomial distributions.

    Attributes
    ----------
    alpha, beta, weight : ndarray
        Component shape parameters and mixing weights.
    loglik : float
        Log-likelihood at the fit (binomial coefficients included).
    iterations : int
        EM iterations of the final fit.
    """

    alpha: FloatArray
    beta: FloatArray
    weight: FloatArray
    loglik: float
    iterations: int

    @property
    def components(self) -> int:
        return int(self.alpha.size)

    def density(self, x: FloatArray) -> FloatArray:
        """The mixture of the component beta densities at ``x`` (0 at 0 and 1)."""
        out = np.zeros_like(x, dtype=np.float64)
        inside = (x > 0) & (x < 1)
        for a, b, w in zip(self.alpha, self.beta, self.weight, strict=True):
            out[inside] += w * stats.beta.pdf(x[inside], a, b)
        return out

    def log_components(self, y: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
        """log(weight_k) + beta-binomial log-pmf of each (y, n), shape (stations, components).

        ``y`` and ``n`` are integer counts; the log-gamma terms are looked up in tables over
        0..max(n) (exact, and much cheaper than one log-gamma per station).
        """
        return self._log_components(_prepare(y, n))

    def _log_components(self, c: _Counts) -> FloatArray:
        cols = []
        for a, b, w in zip(self.alpha, self.beta, self.weight, strict=True):
            if w <= 0:
                cols.append(np.full(c.y.shape, -np.inf))
                continue
            j = c.j
            ga, gb, gab = special.gammaln(j + a), special.gammaln(j + b), special.gammaln(j + a + b)
            col = np.empty(c.n.shape)
            col[c.small] = ga[c.ys] + gb[c.ms] - gab[c.ns]
            col[c.big] = (
                special.gammaln(c.yb + a)
                + special.gammaln(c.mb + b)
                - special.gammaln(c.nb + a + b)
            )
            cols.append(math.log(w) - float(special.betaln(a, b)) + c.const + col)
        return np.column_stack(cols)

    def responsibilities(self, y: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
        """Posterior probability of each component for each station."""
        lc = self.log_components(y, n)
        e = np.exp(lc - lc.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class _Counts:
    """Counts ``(y, n)`` with what every EM iteration reuses, computed once per fit.

    Log-gamma tables run over 0..``cut`` (the 99.9th percentile of the sizes, at least 64);
    the few larger stations (electronic-voting pseudo-stations of 100,000 voters) get their
    log-gammas directly.
    """

    y: IntArray
    n: IntArray
    m: IntArray
    cut: int
    j: FloatArray  # 0..cut
    small: npt.NDArray[np.bool_]
    big: npt.NDArray[np.bool_]
    ys: IntArray  # y, n − y, n of the small stations (table indices)
    ms: IntArray
    ns: IntArray
    yb: FloatArray  # the same of the big ones, as floats
    mb: FloatArray
    nb: FloatArray
    const: FloatArray  # log binomial coefficient of each station


def _prepare(y: npt.ArrayLike, n: npt.ArrayLike) -> _Counts:
    yi = np.asarray(y).astype(np.int64)
    ni = np.asarray(n).astype(np.int64)
    mi = ni - yi
    cut = int(min(int(ni.max()), max(int(np.quantile(ni, 0.999)), 64))) if ni.size else 0
    big = ni > cut
    small = ~big
    j = np.arange(cut + 1, dtype=np.float64)
    lg = special.gammaln(j + 1)
    ys, ms, ns = yi[small], mi[small], ni[small]
    const = np.empty(ni.shape)
    const[small] = lg[ns] - lg[ys] - lg[ms]
    yb, mb, nb = (v[big].astype(np.float64) for v in (yi, mi, ni))
    const[big] = special.gammaln(nb + 1) - special.gammaln(yb + 1) - special.gammaln(mb + 1)
    return _Counts(yi, ni, mi, cut, j, small, big, ys, ms, ns, yb, mb, nb, const)


def _survival(values: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """S(j) = Σ weights · [values > j], j = 0..size-1."""
    c = np.bincount(values, weights=weights, minlength=size + 1)
    return np.asarray((weights.sum() - np.cumsum(c))[:size], dtype=np.float64)


def _m_step(counts: _Counts, r: FloatArray, a0: float, b0: float) -> tuple[float, float]:
    """Weighted beta-binomial ML of (a, b), in log space within spikes's bounds.

    Uses lgamma(y + a) - lgamma(a) = Σ_{j<y} log(a + j): the sums over j < ``cut`` are dense
    (weights = survival counts, one evaluation costs O(cut)); the few counts above ``cut`` (the
    largest 0.1 % of stations, e.g. electronic-voting pseudo-stations with 100,000 voters) add
    their remainder lgamma(a + y) - lgamma(a + cut) one by one. Exact either way.
    """
    y, n, cut = counts.y, counts.n, counts.cut
    sy = _survival(np.minimum(y, cut), r, cut)
    sm = _survival(np.minimum(n - y, cut), r, cut)
    sn = _survival(np.minimum(n, cut), r, cut)
    j = np.arange(cut, dtype=np.float64)
    keep_y, keep_m, keep_n = sy > 0, sm > 0, sn > 0
    jy, wy = j[keep_y], sy[keep_y]
    jm, wm = j[keep_m], sm[keep_m]
    jn, wn = j[keep_n], sn[keep_n]
    # tails: counts above the cut, each with its weight
    ty = (y > cut) & (r > 0)
    tm = (n - y > cut) & (r > 0)
    tn = (n > cut) & (r > 0)
    yv, ry = y[ty].astype(np.float64), r[ty]
    mv, rm = (n - y)[tm].astype(np.float64), r[tm]
    nv, rn = n[tn].astype(np.float64), r[tn]
    c = float(cut)

    def tail(v: FloatArray, w: FloatArray, x: float, order: int) -> float:
        if v.size == 0:
            return 0.0
        if order == 0:
            d = special.gammaln(x + v) - special.gammaln(x + c)
        elif order == 1:
            d = special.digamma(x + v) - special.digamma(x + c)
        else:
            d = special.polygamma(1, x + v) - special.polygamma(1, x + c)
        return float((w * d).sum())

    def value(p: FloatArray) -> float:
        a, b = math.exp(p[0]), math.exp(p[1])
        return float(
            (wy * np.log(a + jy)).sum()
            + (wm * np.log(b + jm)).sum()
            - (wn * np.log(a + b + jn)).sum()
            + tail(yv, ry, a, 0)
            + tail(mv, rm, b, 0)
            - tail(nv, rn, a + b, 0)
        )

    def derivatives(p: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Gradient and Hessian in (log a, log b)."""
        a, b = math.exp(p[0]), math.exp(p[1])
        iy, im, i_n = 1.0 / (a + jy), 1.0 / (b + jm), 1.0 / (a + b + jn)
        gn = (wn * i_n).sum() + tail(nv, rn, a + b, 1)
        hn = (wn * i_n * i_n).sum() - tail(nv, rn, a + b, 2)
        ga = (wy * iy).sum() + tail(yv, ry, a, 1) - gn
        gb = (wm * im).sum() + tail(mv, rm, b, 1) - gn
        haa = -(wy * iy * iy).sum() + tail(yv, ry, a, 2) + hn
        hbb = -(wm * im * im).sum() + tail(mv, rm, b, 2) + hn
        grad = np.array([ga * a, gb * b])
        hess = np.array([[haa * a * a + ga * a, hn * a * b], [hn * a * b, hbb * b * b + gb * b]])
        return grad, hess

    # projected Newton ascent with backtracking (elementwise sums, no BLAS: small BLAS calls
    # and scipy's L-BFGS-B are slow under threaded BLAS on a loaded machine)
    lo, hi = _LOG_BOUNDS
    p = np.clip(np.log([a0, b0]), lo, hi)
    f = value(p)
    for _ in range(100):
        g, h = derivatives(p)
        free = ~(((p <= lo) & (g < 0)) | ((p >= hi) & (g > 0)))
        if not free.any() or np.max(np.abs(g[free])) < 1e-8 * max(1.0, abs(f)):
            break
        step = np.zeros(2)
        hf = h[np.ix_(free, free)]
        if np.all(np.linalg.eigvalsh(hf) < 0):
            step[free] = -np.linalg.solve(hf, g[free])
        else:
            step[free] = g[free] / max(float(np.max(np.abs(g[free]))), 1.0)
        t = 1.0
        while t > 1e-10:
            q = np.clip(p + t * step, lo, hi)
            fq = value(q)
            if fq >= f:
                break
            t *= 0.5
        else:
            break
        moved = float(np.max(np.abs(q - p)))
        p, f = q, fq
        if moved < 1e-10:
            break
    return math.exp(p[0]), math.exp(p[1])


def _init(y: IntArray, n: IntArray, k: int) -> BetaBinomialMixture:
    """Deterministic start: k equal-count groups of the observed rates, moments per group."""
    p = y / n
    order = np.argsort(p, kind="stable")
    alpha, beta = np.empty(k), np.empty(k)
    lo_b, hi_b = math.exp(_LOG_BOUNDS[0]), math.exp(_LOG_BOUNDS[1])
    for i, part in enumerate(np.array_split(order, k)):
        m = float(np.clip(p[part].mean(), 0.01, 0.99))
        v = float(max(p[part].var(), 1e-4))
        common = max(m * (1 - m) / v - 1.0, 0.1)
        alpha[i] = np.clip(m * common, lo_b, hi_b)
        beta[i] = np.clip((1 - m) * common, lo_b, hi_b)
    return BetaBinomialMixture(alpha, beta, np.full(k, 1.0 / k), -math.inf, 0)


def _em(counts: _Counts, k: int, *, correlation: float, max_iter: int) -> BetaBinomialMixture:
    """EM from the deterministic start until successive mixture densities correlate at
    ``correlation`` (``spikes`` uses 0.99) or ``max_iter`` iterations."""
    fit = _init(counts.y, counts.n, k)
    grid = np.linspace(0.01, 0.99, 1001)
    dens = fit.density(grid)
    it = 0
    loglik = -math.inf
    for it in range(1, max_iter + 1):
        lc = fit._log_components(counts)
        top = lc.max(axis=1, keepdims=True)
        norm = top + np.log(np.exp(lc - top).sum(axis=1, keepdims=True))
        loglik = float(norm.sum())
        r = np.exp(lc - norm)
        w = r.mean(axis=0)
        ab = [
            _m_step(counts, r[:, c], fit.alpha[c], fit.beta[c])
            if w[c] > 0
            else (fit.alpha[c], fit.beta[c])
            for c in range(k)
        ]
        fit = BetaBinomialMixture(
            np.array([a for a, _ in ab]), np.array([b for _, b in ab]), w, loglik, it
        )
        new = fit.density(grid)
        if k == 1 or _corr(dens, new) >= correlation:
            break
        dens = new
    lc = fit._log_components(counts)
    top = lc.max(axis=1, keepdims=True)
    loglik = float((top + np.log(np.exp(lc - top).sum(axis=1, keepdims=True))).sum())
    return BetaBinomialMixture(fit.alpha, fit.beta, fit.weight, loglik, it)


def _corr(a: FloatArray, b: FloatArray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def fit_beta_binomial_mixture(
    successes: npt.ArrayLike,
    trials: npt.ArrayLike,
    *,
    max_components: int = 5,
    stop_correlation: float = 0.99,
    em_correlation: float = 0.9999,
    max_iter: int = 100,
) -> BetaBinomialMixture:
    """Fit a beta-binomial mixture, growing the number of components as ``spikes`` does.

    Components are added (1, 2, ... ``max_components``) until the mixture densities of two
    successive fits, on ``linspace(0.01, 0.99, 1001)``, correlate at ``stop_correlation`` or
    more; the last fit is returned. Each fit is EM from a deterministic start (equal-count
    groups of the observed rates), until two successive iterates give densities correlated at
    ``em_correlation`` or more (``spikes`` stops at 0.99; the default here is stricter).

    Parameters
    ----------
    successes, trials : array_like of int
        ``0 <= successes <= trials``, ``trials > 0``.

    Returns
    -------
    BetaBinomialMixture

    Examples
    --------
    >>> import numpy as np
    >>> g = np.random.default_rng(0)
    >>> n = g.integers(200, 2000, 3000)
    >>> y = g.binomial(n, g.beta(30, 20, 3000))
    >>> fit = fit_beta_binomial_mixture(y, n, max_components=2)
    >>> m = float(fit.weight @ (fit.alpha / (fit.alpha + fit.beta)))
    >>> round(m, 2)
    0.6
    """
    y = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    grid = np.linspace(0.01, 0.99, 1001)
    prev: BetaBinomialMixture | None = None
    counts = _prepare(y, n)
    fit = _em(counts, 1, correlation=em_correlation, max_iter=max_iter)
    for k in range(2, max_components + 1):
        prev = fit
        fit = _em(counts, k, correlation=em_correlation, max_iter=max_iter)
        if _corr(prev.density(grid), fit.density(grid)) >= stop_correlation:
            break
    return fit
