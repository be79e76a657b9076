"""A stratum's quick count against its official protocols, tested by re-drawing the sample.

Within one stratum a quick count has a few stations (a dozen or two), and the station shares of
a real region are far from normal (a cluster of stations near 95% for the leader beside the
towns near 35%). A t test on the sample's own variance then cries wolf: when the sample falls
mostly in one cluster, the estimate moves away and its standard error shrinks with it (on
Russia 2011, 1,500 stations, honest copies gave Holm-adjusted p < 0.001 in some region in most
samples). Where the official results give every station's protocol, the null hypothesis
"the official protocols are the true ones" fixes the whole population of the stratum, so the
sampling distribution of the estimator is known: it is that of the same estimator on samples of
the same size drawn from the official protocols. :func:`redraw_test` computes the statistic

    M = max_j |R̂_j − o_j| / σ_j,

with ``R̂_j = Σ y_ij / Σ x_i`` over the reports, ``o_j`` the stratum's official share and
``σ_j`` the exact standard deviation of ``R̂_j`` under simple random sampling from the official
stations (linearised: ``(1 − r/N) S²(y_j − o_j x) / (r x̄²)``, Cochran 1977 §6.3), and refers
it to its distribution over ``draws`` samples of ``r`` official stations (a Monte Carlo test,
Besag & Clifford 1989: p = (1 + #{M* ≥ M}) / (draws + 1)). The maximum over choices makes it
one test per stratum with no Bonferroni factor. Reports that are missing at random within the
stratum leave it valid (the reports are then a simple random sample of the stratum).

References
----------
Besag, J. & Clifford, P. (1989). Generalized Monte Carlo significance tests. *Biometrika*
76(4), 633–642.
Besag, J. & Clifford, P. (1991). Sequential Monte Carlo p-values. *Biometrika* 78(2),
301–304.
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.

Examples
--------
>>> import numpy as np
>>> pop_y = np.array([[50.0, 50.0]] * 20 + [[90.0, 10.0]] * 20)
>>> pop_x = pop_y.sum(axis=1)
>>> p = redraw_test(pop_y[[0, 1, 20, 21]], pop_y, draws=999, rng=1)
>>> bool(p > 0.5)   # half from each cluster: the official share exactly
True
>>> bool(redraw_test(np.array([[10.0, 90.0]] * 4), pop_y, draws=999, rng=1) < 0.01)
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["redraw_test"]

FloatArray = npt.NDArray[np.float64]


def _statistic(y: FloatArray, x: FloatArray, official: FloatArray, sigma: FloatArray) -> FloatArray:
    """M for each row of a batch: y (B, r, k), x (B, r)."""
    r_hat = y.sum(axis=1) / np.maximum(x.sum(axis=1), 1e-300)[:, None]
    out: FloatArray = np.max(np.abs(r_hat - official[None, :]) / sigma[None, :], axis=1)
    return out


def redraw_test(
    sample: npt.ArrayLike,
    population: npt.ArrayLike,
    *,
    draws: int = 2999,
    stop_above: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> float:
    """Monte Carlo p-value of a stratum's reports against its official protocols.

    Parameters
    ----------
    sample : array_like, shape (r, k)
        Votes per choice of the reports (their sum over choices is the denominator).
    population : array_like, shape (N, k)
        Votes per choice of every official protocol of the stratum.
    draws : int
        Samples of ``r`` official stations drawn without replacement (the default lets a
        p-value reach 1/3000, below 0.05/84 for a Holm correction over 84 regions).
    stop_above : float
        Draws go in blocks of 200 and stop once the p-value is clearly above this (a
        sequential Monte Carlo test, Besag & Clifford 1991): the p-values that matter are
        small, and they get every draw.
    rng : int or Generator

    Returns
    -------
    float
        ``(1 + #{M* >= M}) / (draws + 1)``; 1.0 when the choices have no variance in the
        population (nothing a sample could show).
    """
    ys = np.asarray(sample, dtype=float)
    yp = np.asarray(population, dtype=float)
    r, n_pop = ys.shape[0], yp.shape[0]
    xp = yp.sum(axis=1)
    official = yp.sum(axis=0) / max(float(xp.sum()), 1e-300)
    resid = yp - xp[:, None] * official[None, :]
    s2 = resid.var(axis=0, ddof=1) if n_pop > 1 else np.zeros(yp.shape[1])
    var = (1 - r / n_pop) * s2 / (r * max(float(xp.mean()), 1e-300) ** 2)
    ok = var > 1e-18
    if r < 1 or r >= n_pop or not ok.any():
        return 1.0
    sigma = np.sqrt(var[ok])
    obs = _statistic(ys[None, :, ok], ys.sum(axis=1)[None, :], official[ok], sigma)[0]
    gen = np.random.default_rng(rng)
    exceed = done = 0
    while done < draws:
        b = min(200, draws - done)
        idx = np.argpartition(gen.random((b, n_pop)), r - 1, axis=1)[:, :r]
        sims = _statistic(yp[idx][:, :, ok], xp[idx], official[ok], sigma)
        exceed += int(np.sum(sims >= obs - 1e-12))
        done += b
        if (1 + exceed) / (done + 1) > stop_above:
            break  # sequential Monte Carlo (Besag & Clifford 1991): clearly not small
    return float((1 + exceed) / (done + 1))
