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
    with np.errstate(divide="ignore"):
        c2 = np.log1p(-1.0 / nstar) - math.log(2.0)
        c3 = np.log1p(-1.0 / nstar) + np.log1p(-2.0 / nstar) - math.log(6.0)
    lg = special.gammaln(np.arange(int(m.max(initial=0)) + 2, dtype=np.float64) + 1)
    # the feasible (n2, n3): a row per n3 = 0 .. min(M, S // 3), and in it
    # n2 = max(0, S - M - 2 n3) .. (S - 3 n3) // 2 (so that n0 >= 0 and n1 >= 0)
    rows_per = np.minimum(m, s // 3) + 1
    row_cell = np.repeat(np.arange(k), rows_per)
    row_n3 = np.arange(int(rows_per.sum())) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per)
    rs, rm = s[row_cell], m[row_cell]
    row_lo = np.maximum(0, rs - rm - 2 * row_n3)
    row_len = np.maximum((rs - 3 * row_n3) // 2 - row_lo + 1, 0)
    size = np.bincount(row_cell, weights=row_len, minlength=k).astype(np.int64)  # >= 1 each
    row_first = np.cumsum(rows_per) - rows_per
    pval, pmin = np.ones(k), np.ones(k)
    expected, sd = np.zeros((k, 3)), np.zeros(k)
    ends = np.cumsum(size)
    start = 0
    while start < k:
        base = ends[start] - size[start]
        stop = max(start + 1, int(np.searchsorted(ends, base + _GRID_BATCH, side="right")))
        cells = np.arange(start, stop)
        rsel = np.arange(row_first[start], row_first[stop - 1] + rows_per[stop - 1])
        lens = row_len[rsel]
        pt_row = np.repeat(rsel, lens)
        n2 = row_lo[pt_row] + np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
        n3 = row_n3[pt_row]
        r = row_cell[pt_row]
        cell = r - start
        n1 = s[r] - 2 * n2 - 3 * n3
        n0 = m[r] - n1 - n2 - n3
        first = np.concatenate([[0], np.cumsum(size[cells])[:-1]])
        lw = n2 * c2[r] + n3 * c3[r] - lg[n0] - lg[n1] - lg[n2] - lg[n3]
        w = np.exp(lw - np.maximum.reduceat(lw, first)[cell])
        stat = n1 + n2
        total = np.bincount(cell, weights=w, minlength=cells.size).astype(np.float64)
        hi = np.maximum.reduceat(stat, first)
        pval[cells] = _mean(cell, w * (stat >= obs[r]), total)
        pmin[cells] = _mean(cell, w * (stat == hi[cell]), total)
        for j, nj in enumerate((n0, n1, n2)):
            expected[cells, j] = _mean(cell, w * nj, total)
        mu = expected[cells, 1] + expected[cells, 2]
        sd[cells] = np.sqrt(np.maximum(_mean(cell, w * stat**2, total) - mu**2, 0.0))
        start = stop
    return np.minimum(pval, 1.0), np.minimum(pmin, 1.0), expected, sd


def _mean(cell: npt.NDArray[np.int64], x: npt.ArrayLike, total: FloatArray) -> FloatArray:
    """Per-cell sums of ``x`` over the total weight."""
    out: FloatArray = np.bincount(cell, weights=np.asarray(x), minlength=total.size) / total
    return out


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
