"""What the turnout methods share: multiplicity corrections and the stations' seen ballots.

Examples
--------
>>> reject, adj = adjust_pvalues([0.001, 0.02, 0.5], method="holm", level=0.05)
>>> reject.tolist(), [round(float(p), 3) for p in adj]
([True, True, False], [0.003, 0.04, 0.5])
>>> correction_text("bh", 84, "regions")
'Benjamini-Hochberg over 84 regions'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from .._exceptions import UnknownNameError
from ..domain.table import ProtocolTable

__all__ = [
    "CORRECTIONS",
    "Correction",
    "adjust_pvalues",
    "correction_text",
    "issued_seen",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

Correction = Literal["holm", "bh"]

#: The multiplicity corrections the turnout methods offer, by name (statsmodels' names).
CORRECTIONS = {"holm": ("holm", "Holm"), "bh": ("fdr_bh", "Benjamini-Hochberg")}


def _check(method: str) -> None:
    if method not in CORRECTIONS:
        raise UnknownNameError(
            "unknown multiplicity correction",
            field="correction",
            expected=" | ".join(CORRECTIONS),
            found=method,
        )


def adjust_pvalues(
    pvalues: Sequence[float] | FloatArray, *, method: str, level: float
) -> tuple[BoolArray, FloatArray]:
    """Reject / adjusted p-values under Holm (family-wise) or Benjamini-Hochberg (FDR).

    NaN p-values (units that could not be tested) are left out of the family and never
    rejected. The step-down (Holm 1979) and step-up (Benjamini & Hochberg 1995) adjustments
    are written out here in NumPy (statsmodels' ``multipletests``, the reference the tests
    compare with, runs the garbage collector on every call: too slow inside simulations).
    """
    _check(method)
    p = np.asarray(pvalues, dtype=float)
    reject = np.zeros(p.shape, dtype=bool)
    adj = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        a = _holm(p[ok]) if method == "holm" else _bh(p[ok])
        reject[ok] = a <= level
        adj[ok] = a
    return reject, adj


def _holm(p: FloatArray) -> FloatArray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(steps, 1.0)
    return out


def _bh(p: FloatArray) -> FloatArray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    steps = np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order][::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(steps, 1.0)
    return out


def correction_text(method: str, n: int, unit: str) -> str:
    """How a finding was corrected, in the words every renderer prints."""
    _check(method)
    return f"{CORRECTIONS[method][1]} over {n:,} {unit}"


def issued_seen(table: ProtocolTable) -> tuple[IntArray, str]:
    """Ballots issued where an observer inside the station can see them, and the rule used.

    The ``issued_in_station`` line where the layout has it (ballots issued early and outside,
    i.e. to the mobile box, are kept apart: the observer sees neither); otherwise the ballots
    issued (:meth:`ProtocolTable.issued`) minus the ``issued_outside`` or ``in_mobile`` line
    when either exists; otherwise all ballots issued, with the rule saying so.

    >>> import polars as pl
    >>> t = ProtocolTable.from_frame(pl.DataFrame({"station": ["1"], "voters_on_list": [900],
    ...     "issued_in_station": [500], "issued_outside": [40], "valid": [540], "A": [540]}),
    ...     profile="ru-federal-2018", choices=["A"])
    >>> seen, rule = issued_seen(t)
    >>> seen.tolist(), rule
    ([500], 'issued_in_station (early and mobile-box ballots kept apart)')
    """
    if table.has_line("issued_in_station"):
        return table.line("issued_in_station"), (
            "issued_in_station (early and mobile-box ballots kept apart)"
        )
    total = table.issued()
    for key in ("issued_outside", "in_mobile"):
        if table.has_line(key):
            return total - table.line(key), f"issued minus {key} (mobile box kept apart)"
    return total, "issued (this layout has no mobile-box line: mobile ballots included)"
