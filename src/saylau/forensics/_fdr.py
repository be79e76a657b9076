"""Benjamini–Hochberg adjusted p-values, as statsmodels' ``multipletests(method="fdr_bh")``.

The same operations in the same order as statsmodels 0.14 (``fdrcorrection`` on the sorted
p-values), so the q-values are the same to the last bit (a test compares them); written out so
that ``saylau forensics`` does not import statsmodels (and pandas through it) on every run.

References
----------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57(1),
289–300.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["fdr_bh"]


def fdr_bh(
    pvalues: npt.ArrayLike, alpha: float = 0.05
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Rejections at false-discovery rate ``alpha`` and BH-adjusted p-values (q-values).

    >>> reject, q = fdr_bh([0.01, 0.04, 0.03, 0.5])  # by hand: 4p/rank 0.04, 0.06, 0.053, 0.5
    >>> reject.tolist(), [round(float(x), 3) for x in q]
    ([True, False, False, False], [0.04, 0.053, 0.053, 0.5])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p)
    ps = np.take(p, order)
    ecdf = np.arange(1, len(ps) + 1) / float(len(ps))
    reject = ps <= ecdf * alpha
    if reject.any():
        reject[: int(max(np.nonzero(reject)[0]))] = True
    q = np.minimum.accumulate((ps / ecdf)[::-1])[::-1]
    q[q > 1] = 1
    q_out = np.empty_like(q)
    q_out[order] = q
    r_out = np.empty_like(reject)
    r_out[order] = reject
    return r_out, q_out
