"""Exit-poll weighting helpers: the interviewer's tally, raking and the calibration residuals.

Used by :func:`saylau.survey.exitpoll.estimate_exitpoll` (formulas in its module docstring).

References
----------
Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency
table when the expected marginal totals are known. *Ann. Math. Statist.* 11(4), 427-444.
Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87,
376-382.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import DataFormatError, SaylauWarning
from .interviews import identifying_columns

__all__: list[str] = []

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _rake(
    w: FloatArray,
    margin_codes: list[IntArray],
    targets: list[FloatArray],
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> tuple[FloatArray, int]:
    """Iterative proportional fitting of ``w`` to margin totals (Deming & Stephan, 1940)."""
    w = w.copy()
    for it in range(1, max_iter + 1):
        worst = 0.0
        for codes, target in zip(margin_codes, targets, strict=True):
            cur = np.bincount(codes, weights=w, minlength=len(target))
            worst = max(worst, float(np.max(np.abs(cur - target) / target)))
            w *= (target / cur)[codes]
        if worst < tol:
            return w, it
    warnings.warn(
        f"raking did not converge in {max_iter} sweeps (largest relative misfit {worst:.2g})",
        SaylauWarning,
        stacklevel=3,
    )
    return w, max_iter


def _check_tally(tally: pl.DataFrame) -> None:
    bad = identifying_columns(tally.columns)
    if bad:
        raise DataFormatError(
            "the tally must not identify anyone", field=", ".join(bad), found=", ".join(bad)
        )
    if "station" not in tally.columns or not {"approached", "skip"} & set(tally.columns):
        raise DataFormatError(
            "the tally needs a station column and approached and/or skip",
            field="tally",
            expected="station, band, approached, skip",
            found=", ".join(tally.columns),
        )
    if "skip" in tally.columns:
        k = tally["skip"].cast(pl.Float64, strict=False)
        bad_k = k.is_null() | (k <= 0)
        if bad_k.any():
            i = int(bad_k.arg_true()[0])
            raise DataFormatError(
                "skip interval must be a number > 0",
                row=i + 1,
                field="skip",
                expected="> 0",
                found=tally["skip"][i],
            )


def _apply_tally(grid: pl.DataFrame, tally: pl.DataFrame) -> pl.DataFrame:
    _check_tally(tally)
    t = tally.with_columns(
        pl.col("station").cast(pl.Utf8), pl.col("approached").cast(pl.Float64, strict=False)
    )
    t = t.with_columns(
        (pl.col("band").cast(pl.Utf8) if "band" in t.columns else pl.lit("all")).alias("band")
    )
    t = t.group_by(["station", "band"]).agg(pl.col("approached").sum())
    # Bands of the tally without any record still count: their voters were approached and
    # none answered, so they go to the station's other bands (stations with records only).
    g = grid.join(t, on=["station", "band"], how="full", coalesce=True)
    g = g.filter(pl.col("station").is_in(grid["station"].unique().implode())).with_columns(
        pl.col("records").fill_null(0), pl.col("m").fill_null(0)
    )
    short = g.filter(pl.col("approached").is_null() | (pl.col("approached") < pl.col("records")))
    if short.height:
        rec = short.row(0, named=True)
        raise DataFormatError(
            "the tally counts fewer approached voters than there are records",
            field="approached",
            expected=f">= {rec['records']} at station {rec['station']}, band {rec['band']}",
            found=rec["approached"],
        )
    return g


def _calibration_term(
    w: FloatArray,
    y: IntArray,
    k: int,
    p: FloatArray,
    psu_inv: IntArray,
    p_n: int,
    margin_codes: list[IntArray],
) -> FloatArray:
    """Σ_{i∈s} w_i x_iᵀB per PSU, B the weighted regression of y_i − p on the margin dummies."""
    offsets = np.cumsum([0] + [int(c.max()) + 1 for c in margin_codes])
    q = int(offsets[-1])
    # X'WX from pairwise weighted cross-tabulations of the dummies.
    xtwx = np.zeros((q, q))
    for a_i, ca in enumerate(margin_codes):
        for b_i, cb in enumerate(margin_codes):
            na, nb = offsets[a_i + 1] - offsets[a_i], offsets[b_i + 1] - offsets[b_i]
            block = np.bincount(ca * nb + cb, weights=w, minlength=na * nb).reshape(na, nb)
            xtwx[offsets[a_i] : offsets[a_i + 1], offsets[b_i] : offsets[b_i + 1]] = block
    # X'W(y - p): weighted sums of the choice indicators per level, minus p times the level weight.
    xtwe = np.zeros((q, k))
    for a_i, ca in enumerate(margin_codes):
        na = offsets[a_i + 1] - offsets[a_i]
        tab = np.bincount(ca * k + y, weights=w, minlength=na * k).reshape(na, k)
        lw = tab.sum(axis=1)
        xtwe[offsets[a_i] : offsets[a_i + 1]] = tab - np.outer(lw, p)
    beta = np.linalg.pinv(xtwx) @ xtwe
    # Σ_{i∈s} w_i x_i per PSU, then times B.
    out = np.zeros((p_n, k))
    for a_i, ca in enumerate(margin_codes):
        na = offsets[a_i + 1] - offsets[a_i]
        psu_lvl = np.bincount(psu_inv * na + ca, weights=w, minlength=p_n * na).reshape(p_n, na)
        out += psu_lvl @ beta[offsets[a_i] : offsets[a_i + 1]]
    return out
