"""The exact conditional test behind :func:`saylau.forensics.small_counts` (mixture null).

Honest counts of a choice in a station are binomial given the station's own rate of support,
whatever that rate is and however it varies between stations (neighbourhoods, a candidate's
home village, a campus). For any such mixture, ``b_k = P(k) / C(n, k) = E[p^k (1 - p)^(n - k)]``
is log-convex in ``k`` (Cauchy-Schwarz), and sums over stations keep it log-convex: honest
stations never have 1s and 2s crowding out both 0s and 3s beyond what a *homogeneous* support
gives. The test here takes a commission's stations with 0 to 3 votes for the choice and, given
how many they are (``M``) and how many votes they hold (``S``), computes exactly the probability
under a homogeneous rate that ``N1 + N2`` (stations at 1 or 2 votes) is at least the observed
number. That conditional distribution does not depend on the rate, and heterogeneous rates make
large ``N1 + N2`` less likely, so the test keeps its level under any honest heterogeneity (the
tests check it by simulation with known truth). Its price is power: only the stations at 0 to 3
votes inform it.

References
----------
.. [1] R. E. Tarone, "A modified Bonferroni method for discrete data", Biometrics 46(2), 1990.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = ["WINDOW", "tarone_bonferroni", "window_tails"]

FloatArray = npt.NDArray[np.float64]

#: Stations at 0..3 votes enter the mixture test (the window where hand-drawn 1s and 2s show).
WINDOW = 3
#: Grid points (cells x (n2, n3) pairs) per batch of the exact conditional distribution.
_GRID_BATCH = 4_000_000


def window_tails(
    counts: npt.NDArray[np.int64], nstar: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Exact conditional test of too many stations at 1-2 votes among stations at 0-3.

    ``counts`` is ``(cells, 4)``: stations at 0, 1, 2, 3 votes; ``nstar`` the smallest valid
    ballots of a cell's stations. Given the cell's stations in the window (``M``) and their
    votes (``S``), a homogeneous binomial with ``nstar`` voters makes the configuration
    ``(n0, n1, n2, n3)`` have probability proportional to
    ``M! / (n0! n1! n2! n3!) * prod_k (C(nstar, k) / nstar**k)**n_k``, free of the unknown rate;
    every ``(n2, n3)`` with ``n1 = S - 2 n2 - 3 n3 >= 0`` and ``n0 = M - n1 - n2 - n3 >= 0`` is
    enumerated. Returns the p-value ``P(N1 + N2 >= observed)``, the smallest attainable
    p-value (``P(N1 + N2 = its largest feasible value)``, for Tarone's count), and the
    conditional mean and standard deviation of ``N1 + N2``; plus nothing random.
    """
    k = counts.shape[0]
    m = counts.sum(axis=1)
    s = counts[:, 1] + 2 * counts[:, 2] + 3 * counts[:, 3]
    obs = counts[:, 1] + counts[:, 2]
    a = np.minimum(m, s // 3) + 1  # n3 = 0 .. min(M, S // 3)
    b = np.minimum(m, s // 2) + 1  # n2 = 0 .. min(M, S // 2)
    size = a * b
    with np.errstate(divide="ignore"):
        c2 = np.log1p(-1.0 / nstar) - math.log(2.0)
        c3 = np.log1p(-1.0 / nstar) + np.log1p(-2.0 / nstar) - math.log(6.0)
    lg = special.gammaln(np.arange(int(m.max(initial=0)) + 2, dtype=np.float64) + 1)
    pval, pmin = np.ones(k), np.ones(k)
    expected, sd = np.zeros((k, 3)), np.zeros(k)
    ends = np.cumsum(size)
    start = 0
    while start < k:
        base = ends[start] - size[start]
        stop = max(start + 1, int(np.searchsorted(ends, base + _GRID_BATCH, side="right")))
        rows = np.arange(start, stop)
        sz = size[rows]
        first = np.concatenate([[0], np.cumsum(sz)[:-1]])
        cell = np.repeat(np.arange(rows.size), sz)
        local = np.arange(int(sz.sum())) - first[cell]
        r = rows[cell]
        n3 = local // b[r]
        n2 = local % b[r]
        n1 = s[r] - 2 * n2 - 3 * n3
        n0 = m[r] - n1 - n2 - n3
        ok = (n1 >= 0) & (n0 >= 0)
        i0, i1 = np.where(ok, n0, 0), np.where(ok, n1, 0)
        lw = -lg[i0] - lg[i1] - lg[n2] - lg[n3] + n2 * c2[r] + n3 * c3[r]
        lw = np.where(ok, lw, -np.inf)
        top = np.maximum.reduceat(lw, first)
        w = np.exp(lw - top[cell])
        stat = np.where(ok, n1 + n2, -1)
        total = np.bincount(cell, weights=w, minlength=rows.size)
        hi = np.maximum.reduceat(stat, first)
        pval[rows] = np.bincount(cell, weights=w * (stat >= obs[r]), minlength=rows.size) / total
        pmin[rows] = np.bincount(cell, weights=w * (stat == hi[cell]), minlength=rows.size) / total
        for j, nj in enumerate((i0, i1, n2)):
            expected[rows, j] = np.bincount(cell, weights=w * nj, minlength=rows.size) / total
        mu = expected[rows, 1] + expected[rows, 2]
        m2 = np.bincount(cell, weights=w * np.maximum(stat, 0) ** 2, minlength=rows.size) / total
        sd[rows] = np.sqrt(np.maximum(m2 - mu**2, 0.0))
        start = stop
    return np.minimum(pval, 1.0), np.minimum(pmin, 1.0), expected, sd


def tarone_bonferroni(
    pvalues: npt.ArrayLike, smallest: npt.ArrayLike, level: float
) -> tuple[float, npt.NDArray[np.bool_], int]:
    """One family p-value of discrete tests: Bonferroni over Tarone's testable cells.

    ``K`` is the smallest number such that at most ``K`` cells can reach ``level / K`` (their
    smallest attainable p-value is at most ``level / K``); those cells form the family and
    ``min(1, K * min p)`` over them is the family p-value. It is a valid p-value at every
    threshold ``t``: ``P(p_family <= t) <= sum over the family of P(p_i <= t / K) <= t``; cells
    outside the family cannot reach ``level / K`` (Tarone 1990).

    Returns the family p-value, the family mask and ``K``.

    >>> p, fam, k = tarone_bonferroni([0.001, 0.2, 0.5], [1e-4, 0.1, 0.5], 0.01)
    >>> round(p, 6), fam.tolist(), k
    (0.001, [True, False, False], 1)
    """
    p = np.asarray(pvalues, dtype=np.float64)
    mins = np.sort(np.asarray(smallest, dtype=np.float64))
    kk = 1
    # the count of cells with smallest p <= level / K falls as K grows: stop at the first K
    # that it does not exceed
    while kk < mins.size and int(np.searchsorted(mins, level / kk, side="right")) > kk:
        kk += 1
    fam = np.asarray(smallest, dtype=np.float64) <= level / kk
    if not fam.any():
        return 1.0, fam, kk
    return float(min(1.0, kk * float(p[fam].min()))), fam, kk
