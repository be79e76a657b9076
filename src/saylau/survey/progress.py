"""How a quick count's estimate moved as reports arrived (re-estimated at checkpoints).

Examples
--------
See :func:`quick_count_progress`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import EmptyInputError, SaylauInputError
from ..domain.table import ProtocolTable
from ..results import Result
from .frame import SamplingFrame
from .sample import SampleDraw

__all__ = ["ProgressPoint", "QuickCountProgress", "quick_count_progress"]

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class ProgressPoint:
    """The estimate after the first ``reports`` reports arrived (``None`` if not estimable)."""

    reports: int
    estimate: FloatArray | None
    std_err: FloatArray | None
    ci_low: FloatArray | None
    ci_high: FloatArray | None
    note: str | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class QuickCountProgress(Result):
    """How the estimate moved as reports arrived."""

    choices: tuple[str, ...]
    points: tuple[ProgressPoint, ...]
    empty_rule: str

    def to_frame(self) -> pl.DataFrame:
        """Long table: reports, choice, estimate, std_err, ci_low, ci_high."""
        rows = []
        for p in self.points:
            for k, c in enumerate(self.choices):
                rows.append(
                    {
                        "reports": p.reports,
                        "choice": c,
                        "estimate": None if p.estimate is None else float(p.estimate[k]),
                        "std_err": None if p.std_err is None else float(p.std_err[k]),
                        "ci_low": None if p.ci_low is None else float(p.ci_low[k]),
                        "ci_high": None if p.ci_high is None else float(p.ci_high[k]),
                    }
                )
        return pl.DataFrame(rows)


def quick_count_progress(
    reports: ProtocolTable,
    *,
    frame: SamplingFrame | ProtocolTable,
    sample: SampleDraw | None = None,
    order: npt.ArrayLike | None = None,
    checkpoints: Sequence[int] | int = 10,
    empty: Literal["error", "collapse"] = "collapse",
    alpha: float = 0.05,
    **options: Any,
) -> QuickCountProgress:
    """Re-estimate after the first reports to arrive, at several checkpoints.

    Parameters
    ----------
    reports, frame, sample
        As in :func:`quick_count`.
    order : array_like, optional
        Arrival key per report row (a time or a sequence number); default the row order.
    checkpoints : int or sequence of int
        Number of evenly spaced checkpoints, or the report counts to stop at.
    empty : {"collapse", "error"}
        Early on some strata have no report yet; with ``"error"`` such a point is left empty
        with a note, with ``"collapse"`` (default) it is estimated with the strata merged.
    options
        Passed to :func:`quick_count` (``denominator``, ``singleton``, ``strata``).

    Returns
    -------
    QuickCountProgress

    Examples
    --------
    >>> import polars as pl
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(6)], "region": ["N", "N", "N", "S", "S", "S"],
    ...     "voters_on_list": [200] * 6,
    ...     "A": [60, 50, 55, 30, 35, 40], "B": [40, 50, 45, 70, 65, 60]}),
    ...     profile="plain", choices=["A", "B"], levels=["region"])
    >>> pr = quick_count_progress(t, frame=t, strata=["region"], checkpoints=[2, 6])
    >>> [p.reports for p in pr.points], [round(float(p.estimate[0]), 3) for p in pr.points]
    ([2, 6], [0.55, 0.45])
    """
    n = reports.stations
    if n == 0:
        raise EmptyInputError("no reports", file=reports.source)
    idx = np.arange(n) if order is None else np.argsort(np.asarray(order), kind="stable")
    if isinstance(checkpoints, int):
        cps = sorted({max(1, round(n * (i + 1) / checkpoints)) for i in range(checkpoints)})
    else:
        cps = sorted({int(c) for c in checkpoints if 0 < int(c) <= n})
    points = []
    choices = tuple(c.id for c in reports.choices)
    for k in cps:
        mask = np.zeros(n, dtype=bool)
        mask[idx[:k]] = True
        sub = reports.filter(mask)
        sub = dataclasses.replace(sub, rejected=())
        from .quickcount import quick_count

        try:
            res = quick_count(sub, frame=frame, sample=sample, empty=empty, **options)
        except SaylauInputError as exc:
            points.append(ProgressPoint(k, None, None, None, None, note=exc.message))
            continue
        lo, hi = res.shares.conf_int(alpha)
        points.append(ProgressPoint(k, res.shares.estimate, res.shares.std_err, lo, hi))
    return QuickCountProgress(choices=choices, points=tuple(points), empty_rule=empty)
