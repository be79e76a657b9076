"""Frozen result objects shared by every statistical method, and their plain rendering.

Every method in saylau returns a frozen dataclass that subclasses :class:`Result`. It carries the
estimate, its uncertainty and the summary of the inputs that produced it, and knows how to turn
itself into JSON-ready data (:meth:`Result.to_dict`). Printing, tables and plots live elsewhere.

Examples
--------
>>> e = Estimate(estimate=0.5, std_err=0.01, df=None, method="normal")
>>> [round(x, 4) for x in e.conf_int()]
[0.4804, 0.5196]
>>> e.to_dict()["estimate"]
0.5
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

__all__ = ["Estimate", "Result", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert results, numpy scalars/arrays, tuples and mappings into JSON-ready values.

    Non-finite floats become ``None`` (JSON has no NaN).

    >>> to_jsonable({"a": np.int64(3), "b": (np.float64(0.5), float("nan"))})
    {'a': 3, 'b': [0.5, None]}
    """
    if isinstance(value, Result):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pl.DataFrame):
        return [to_jsonable(row) for row in value.to_dicts()]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if hasattr(value, "numerator") and hasattr(value, "denominator") and not isinstance(value, int):
        return float(value)
    return value


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of every result: JSON rendering and a short text summary."""

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-ready data (see :func:`to_jsonable`)."""
        return {
            f.name: to_jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if not f.name.startswith("_")
        }

    def summary(self) -> str:
        """A plain-text, one-field-per-line summary (never printed by the library itself)."""
        lines = [type(self).__name__]
        for key, value in self.to_dict().items():
            text = repr(value)
            if len(text) > 80:
                text = text[:77] + "..."
            lines.append(f"  {key}: {text}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Estimate(Result):
    """A point estimate with a standard error and, optionally, t degrees of freedom.

    Parameters
    ----------
    estimate : float
    std_err : float
    df : float or None
        Degrees of freedom of the t reference distribution; ``None`` means normal.
    method : str
        How the estimate and its error were computed.
    """

    estimate: float
    std_err: float
    df: float | None = None
    method: str = ""

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Two-sided ``1 - alpha`` interval, on the t distribution when ``df`` is set."""
        q = stats.t.ppf(1 - alpha / 2, self.df) if self.df else stats.norm.ppf(1 - alpha / 2)
        half = float(q) * self.std_err
        return (self.estimate - half, self.estimate + half)
