"""Share estimates with their covariance: the common result of quick counts and exit polls.

Both the quick count (a stratified ratio estimator over sampled stations) and the exit poll (a
clustered design over interviews) end in the same object: one estimated share per choice,
Against all included, the full covariance matrix between choices (so that the lead of A over B
has the right margin), the t degrees of freedom (primary units minus strata) and the counts of
the design. Intervals are Wald on the t distribution, or Wilson / logit for small shares.

Examples
--------
>>> import numpy as np
>>> est = ShareEstimates(choices=("A", "B", "against_all"),
...                      estimate=np.array([0.6, 0.35, 0.05]),
...                      cov=np.diag([1e-4, 1e-4, 4e-6]), df=200.0, method="test",
...                      nobs=500, n_psu=201, n_strata=1)
>>> float(round(est.std_err[0], 4))
0.01
>>> lo, hi = est.conf_int()
>>> bool(lo[0] < 0.6 < hi[0])
True
>>> round(est.difference("A", "B").estimate, 2)
0.25
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._exceptions import UnknownNameError
from ..results import Estimate, Result

__all__ = ["SMALL_SHARE", "IntervalMethod", "ShareEstimates"]

FloatArray = npt.NDArray[np.float64]
IntervalMethod = Literal["wald", "wilson", "logit", "korn-graubard", "auto"]

#: Below this share the ``"auto"`` interval is Korn–Graubard's, above it Wald's.
SMALL_SHARE = 0.05


@dataclasses.dataclass(frozen=True, eq=False)
class ShareEstimates(Result):
    """Estimated shares of every choice with their covariance.

    Parameters
    ----------
    choices : tuple of str
        Choice ids, in the order of ``estimate`` (Against all included where on the ballot).
    estimate : ndarray, shape (k,)
        Estimated shares (or any ratio: turnout uses one "choice").
    cov : ndarray, shape (k, k)
        Estimated covariance matrix of ``estimate`` (design-based).
    df : float or None
        Degrees of freedom of the reference t distribution (primary units − strata); ``None``
        means the normal distribution.
    method : str
        Estimator and variance method, in words.
    nobs : int
        Units that entered the estimate (stations for a quick count, interviews for an exit poll).
    n_psu, n_strata : int
        Primary sampling units (stations) and strata used.
    deff : ndarray or None
        Design effect per choice, where the estimator can say.
    extra : mapping
        Method-specific inputs' summary (stations reported per stratum, exclusions...).
    """

    choices: tuple[str, ...]
    estimate: FloatArray
    cov: FloatArray
    df: float | None
    method: str
    nobs: int
    n_psu: int
    n_strata: int
    deff: FloatArray | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def std_err(self) -> FloatArray:
        """Standard errors (square roots of the diagonal of ``cov``)."""
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    def index(self, choice: str) -> int:
        """Position of a choice id."""
        try:
            return self.choices.index(choice)
        except ValueError:
            raise UnknownNameError(
                "unknown choice", field="choice", expected=" | ".join(self.choices), found=choice
            ) from None

    def _quantile(self, alpha: float) -> float:
        if self.df is not None and self.df > 0:
            return float(stats.t.ppf(1 - alpha / 2, self.df))
        return float(stats.norm.ppf(1 - alpha / 2))

    def conf_int(
        self, alpha: float = 0.05, method: IntervalMethod = "wald"
    ) -> tuple[FloatArray, FloatArray]:
        """Two-sided ``1 - alpha`` intervals for every share.

        ``"wald"``: estimate ± t·se. ``"logit"``: Wald on the logit scale, transformed back
        (stays inside (0, 1); better for small shares). ``"wilson"``: the Wilson score interval
        with the effective sample size n_eff = p(1−p)/se² (Kish), as recommended for complex
        samples by Korn & Graubard (1998) and Dean & Pagano (2015). ``"korn-graubard"``: the
        Clopper–Pearson interval at the effective sample size, shrunk for the design degrees of
        freedom, ``n* = n_eff (z / t_df)²`` (Korn & Graubard 1998, the rule of the NCHS data
        presentation standards); with an estimate of 0 the effective size is the ballots in
        the sample (``extra["ballots_in_sample"]``, else ``nobs``). ``"auto"`` (the CLI's
        default): Korn–Graubard for shares under :data:`SMALL_SHARE`, Wald above.
        """
        p = np.asarray(self.estimate, dtype=float)
        se = self.std_err
        q = self._quantile(alpha)
        if method == "wald":
            return p - q * se, p + q * se
        pc = np.clip(p, 1e-12, 1 - 1e-12)
        if method == "logit":
            logit = np.log(pc / (1 - pc))
            se_l = se / (pc * (1 - pc))
            lo, hi = logit - q * se_l, logit + q * se_l
            return 1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))
        if method == "wilson":
            with np.errstate(divide="ignore", invalid="ignore"):
                n = np.where(se > 0, pc * (1 - pc) / se**2, np.inf)
            z2 = q * q
            centre = (pc + z2 / (2 * n)) / (1 + z2 / n)
            half = q / (1 + z2 / n) * np.sqrt(pc * (1 - pc) / n + z2 / (4 * n * n))
            return centre - half, centre + half
        if method in ("korn-graubard", "auto"):
            klo, khi = self._korn_graubard(alpha)
            if method == "korn-graubard":
                return klo, khi
            small = p < SMALL_SHARE
            return np.where(small, klo, p - q * se), np.where(small, khi, p + q * se)
        raise UnknownNameError(
            "unknown interval method",
            field="method",
            expected="wald | wilson | logit | korn-graubard | auto",
            found=method,
        )

    def _korn_graubard(self, alpha: float) -> tuple[FloatArray, FloatArray]:
        p = np.clip(np.asarray(self.estimate, dtype=float), 0.0, 1.0)
        var = np.diag(self.cov).astype(float)
        fallback = float(self.extra.get("ballots_in_sample", self.nobs)) if self.extra else 0.0
        fallback = fallback or float(max(self.nobs, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where((var > 0) & (p > 0) & (p < 1), p * (1 - p) / var, fallback)
        if self.df is not None and self.df > 0:
            shrink = (stats.norm.ppf(1 - alpha / 2) / stats.t.ppf(1 - alpha / 2, self.df)) ** 2
            n_eff = n_eff * shrink
        x = p * n_eff
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n_eff - x + 1), 0.0)
        hi = np.where(x < n_eff, stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x), 1.0)
        return np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=1.0)

    def difference(self, a: str, b: str) -> Estimate:
        """The lead of choice ``a`` over ``b`` with its standard error from the covariance."""
        i, j = self.index(a), self.index(b)
        var = self.cov[i, i] + self.cov[j, j] - 2 * self.cov[i, j]
        return Estimate(
            estimate=float(self.estimate[i] - self.estimate[j]),
            std_err=float(np.sqrt(max(var, 0.0))),
            df=self.df,
            method=f"difference of shares ({self.method})",
        )

    def table(self, alpha: float = 0.05, method: IntervalMethod = "wald") -> list[dict[str, Any]]:
        """One JSON-ready row per choice: estimate, std_err, ci_low, ci_high."""
        lo, hi = self.conf_int(alpha, method)
        return [
            {
                "choice": c,
                "estimate": float(self.estimate[k]),
                "std_err": float(self.std_err[k]),
                "ci_low": float(lo[k]),
                "ci_high": float(hi[k]),
                "ci_method": method,
            }
            for k, c in enumerate(self.choices)
        ]
