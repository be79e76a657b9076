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

__all__ = ["FINDING_KINDS", "Estimate", "Finding", "Result", "to_jsonable"]


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


#: The kinds of finding: a calibrated ``test`` may raise an alarm; a ``screen`` points where to
#: look and never raises one; a ``model`` result is an estimate under a stated fraud model.
FINDING_KINDS = ("test", "screen", "model")


@dataclasses.dataclass(frozen=True)
class Finding(Result):
    """What a method's result may be quoted as: an alarm or not, and how far to trust it.

    Every result that could be quoted as evidence carries one. ``alarm`` is true only where the
    method's own calibrated test rejects at ``level`` after ``correction``; a ``screen`` never
    raises one. ``false_alarm_rate`` is the share of clean elections on which the same alarm was
    raised in saylau's calibration study (``None`` where it has not been measured), with
    ``calibration`` naming that study (file under ``tests/results/`` and its seeds).

    Parameters
    ----------
    alarm : bool
    kind : {"test", "screen", "model"}
    level : float
        The family-wise level at which the alarm is decided (e.g. 0.01).
    pvalue : float or None
        The calibrated p-value before any correction across methods.
    correction : str
        The multiplicity correction applied (e.g. ``"Holm over 84 regions"``, ``"none"``).
    false_alarm_rate : float or None
    calibration : str
    caveats : tuple of str
        What the method cannot show, in the words every renderer prints.

    Examples
    --------
    >>> f = Finding(alarm=False, kind="screen", level=0.01, caveats=("a screen, not a test",))
    >>> f.headline()
    'screen (never an alarm); a screen, not a test'
    """

    alarm: bool
    kind: str = "test"
    level: float = 0.01
    pvalue: float | None = None
    correction: str = "none"
    false_alarm_rate: float | None = None
    calibration: str = ""
    caveats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in FINDING_KINDS:
            raise ValueError(f"finding kind must be one of {FINDING_KINDS}, found {self.kind!r}")
        if self.kind == "screen" and self.alarm:
            raise ValueError("a screen never raises an alarm")

    def headline(self) -> str:
        """One line for a terminal: alarm or not, level, false-alarm rate, caveats."""
        if self.kind == "screen":
            head = "screen (never an alarm)"
        else:
            head = "ALARM" if self.alarm else "no alarm"
            head += f" at {self.level:g}"
            if self.correction and self.correction != "none":
                head += f" ({self.correction})"
            if self.false_alarm_rate is not None:
                head += f"; false-alarm rate on clean elections {self.false_alarm_rate:.3f}"
        return "; ".join((head, *self.caveats))
