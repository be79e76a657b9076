"""Threshold probabilities and seat projections from quick-count estimates."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._exceptions import SaylauInputError
from ..domain.choices import is_against_all
from ..results import Result
from .estimates import ShareEstimates

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["SeatProjection", "project_seats", "threshold_probability"]


# ====================================================================== thresholds, seats
def threshold_probability(est: ShareEstimates, threshold: float | Fraction) -> dict[str, float]:
    """Probability that each choice's share is at or above ``threshold``.

    Uses the t (or normal) reference distribution of the estimate:
    ``P = 1 − F_df((threshold − p̂) / se)``. The share's base is the estimate's denominator.

    Examples
    --------
    >>> est = ShareEstimates(choices=("A", "B"), estimate=np.array([0.07, 0.93]),
    ...                      cov=np.diag([1e-4, 1e-4]), df=None, method="", nobs=1,
    ...                      n_psu=1, n_strata=1)
    >>> round(threshold_probability(est, 0.05)["A"], 4)
    0.9772
    """
    t = float(threshold)
    p = est.estimate
    se = est.std_err
    dist = stats.t(est.df) if est.df else stats.norm()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (t - p) / se
    prob = np.where(se > 0, dist.sf(z), np.where(p >= t, 1.0, 0.0))
    return {c: float(v) for c, v in zip(est.choices, prob, strict=True)}


@dataclasses.dataclass(frozen=True, eq=False)
class SeatProjection(Result):
    """Seats projected from a quick count, with ranges over draws from the estimate.

    ``point`` is the allocation at the point estimate; ``low``/``high`` the ``alpha/2`` and
    ``1 − alpha/2`` quantiles of the seats over the draws; ``prob_threshold`` the share of
    draws in which the choice clears the threshold.
    """

    choices: tuple[str, ...]
    point: IntArray
    mean: FloatArray
    low: IntArray
    high: IntArray
    prob_threshold: FloatArray
    prob_any_seat: FloatArray
    draws: int
    seats: int
    method: str
    threshold: float | None
    alpha: float

    def table(self) -> list[dict[str, Any]]:
        """One JSON-ready row per choice."""
        return [
            {
                "choice": c,
                "seats": int(self.point[k]),
                "seats_mean": float(self.mean[k]),
                "seats_low": int(self.low[k]),
                "seats_high": int(self.high[k]),
                "p_threshold": float(self.prob_threshold[k]),
                "p_any_seat": float(self.prob_any_seat[k]),
            }
            for k, c in enumerate(self.choices)
        ]


def _mvt_draws(est: ShareEstimates, draws: int, gen: np.random.Generator) -> FloatArray:
    """Draws from the multivariate t (normal if no df) with the estimate's covariance."""
    cov = (est.cov + est.cov.T) / 2
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))[None, :]
    z = gen.standard_normal((draws, len(vals)))
    dev = z @ root.T
    if est.df:
        dev *= np.sqrt(est.df / gen.chisquare(est.df, size=draws))[:, None]
    out: FloatArray = np.clip(est.estimate[None, :] + dev, 0.0, None)
    return out


def project_seats(
    est: ShareEstimates,
    *,
    seats: int | None = None,
    method: str | None = None,
    threshold: float | Fraction | str | None = None,
    threshold_base: str | None = None,
    rules: str | None = None,
    draws: int = 10_000,
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
) -> SeatProjection:
    """Seat projection with ranges: the seat rule applied to draws from the estimate.

    Draws come from the multivariate t distribution (``df`` of the estimate) centred on the
    estimated shares with their covariance (negative draws set to 0), and each is allocated by
    :func:`saylau.tabulate.seats.allocate_many`; Against all, if present, is passed as such
    (in the threshold base where the base says so, never a seat).

    Parameters
    ----------
    est : ShareEstimates
        Shares of the valid votes (Against all included), e.g. ``quick_count(...).shares``.
    seats, method, threshold, threshold_base
        The seat rule; or ``rules``, the name of a :class:`~saylau.tabulate.rules.RuleSet`.
    draws : int
    alpha : float
        The range is the central ``1 − alpha`` interval of the seats over draws.
    rng : int or Generator

    Examples
    --------
    >>> est = ShareEstimates(choices=("A", "B", "C"), estimate=np.array([0.6, 0.3, 0.1]),
    ...                      cov=np.diag([1e-4, 1e-4, 1e-5]), df=500.0, method="",
    ...                      nobs=1, n_psu=1, n_strata=1)
    >>> pr = project_seats(est, seats=10, method="hare", threshold=0.05, draws=2000, rng=1)
    >>> pr.point.tolist()
    [6, 3, 1]
    """
    from ..tabulate.rules import get_rules
    from ..tabulate.seats import parse_threshold
    from ..tabulate.seats_many import allocate_many

    inclusive = True
    if rules is not None:
        rs = get_rules(rules)
        seats = rs.seats if seats is None else seats
        method = rs.seat_method if method is None else method
        threshold = rs.threshold if threshold is None else threshold
        threshold_base = rs.threshold_base if threshold_base is None else threshold_base
        inclusive = rs.inclusive_threshold
    if seats is None:
        raise SaylauInputError("seat projection needs the number of seats", field="seats")
    method = method or "hare"
    base = threshold_base or "valid"
    aa = [k for k, c in enumerate(est.choices) if is_against_all(c)]
    aa_index = aa[0] if aa else None
    gen = np.random.default_rng(rng)
    sims = _mvt_draws(est, draws, gen)
    kw: dict[str, Any] = {
        "seats": seats,
        "method": method,
        "threshold": threshold,
        "threshold_base": base,
        "inclusive_threshold": inclusive,
        "against_all_index": aa_index,
    }
    point = allocate_many(np.clip(est.estimate, 0.0, None)[None, :], **kw)[0]
    alloc = allocate_many(sims, **kw)
    parsed = parse_threshold(threshold)
    thr = None if parsed is None else float(parsed)
    if thr is None:
        passed = np.ones(len(est.choices))
    else:
        shares = sims
        if base == "valid_excl_against_all" and aa_index is not None:
            keepcols = np.ones(sims.shape[1], dtype=bool)
            keepcols[aa_index] = False
            shares = sims / sims[:, keepcols].sum(axis=1, keepdims=True)
        else:
            shares = sims / sims.sum(axis=1, keepdims=True)
        passed = (shares >= thr).mean(axis=0)
    return SeatProjection(
        choices=est.choices,
        point=point.astype(np.int64),
        mean=alloc.mean(axis=0),
        low=np.quantile(alloc, alpha / 2, axis=0, method="inverted_cdf").astype(np.int64),
        high=np.quantile(alloc, 1 - alpha / 2, axis=0, method="inverted_cdf").astype(np.int64),
        prob_threshold=np.asarray(passed, dtype=float),
        prob_any_seat=(alloc > 0).mean(axis=0),
        draws=draws,
        seats=int(seats),
        method=method,
        threshold=thr,
        alpha=alpha,
    )
