"""Digit and distribution tests of the Election Forensics Toolkit (Hicken & Mebane).

For every unit of analysis (a region by default) and every quantity (the turnout and each
choice's votes) the toolkit reports six summary statistics of the precinct counts, next to the
value each one takes "in the absence of fraud or strategic behaviour":

========  ==========================================================  =========
name      definition                                                  reference
========  ==========================================================  =========
``2BL``   mean second significant digit of the counts >= 10            4.187
``LastC`` mean last digit of the counts (>= ``last_digit_min``)         4.5
``P05s``  share of ``round(100 * share)`` whose last digit is 0 or 5    0.2
``C05s``  share of counts whose last digit is 0 or 5                    0.2
``Skew``  skewness of the share (turnout or vote share)                 0
``Kurt``  kurtosis (not excess) of the share                            3
========  ==========================================================  =========

They follow the R port of the toolkit, ``kkalininMI/EFToolkit`` (function
``BasicElectionForensics``), definition by definition: the count for the turnout is the number of
ballots and its share ballots / registered; the count for a choice is its votes and its share
votes / ballots; shares above 1 are set to 1; rounding is half-to-even, as R's ``round``; skewness
and kurtosis are the population moment ratios of R's ``moments`` package; the intervals are
nonparametric bootstrap "basic" intervals (``boot.ci(type="basic")``) and a statistic is flagged
when its reference value lies outside the interval, as the toolkit colours its table.

These are weak screens. Their authors present them as indicators that something in the process
of producing the counts differs from an idealised one: strategic voting, uneven precinct sizes or
a few round numbers shift them as easily as fraud does, and "departs from the reference" does not
mean "fraud". The result carries this in its ``caveat`` field.

References
----------
.. [1] A. Hicken and W. R. Mebane Jr., "A Guide to Election Forensics", University of Michigan,
   2015 (revised 2017), Table 1.
.. [2] K. Kalinin and W. R. Mebane Jr., "EFToolkit: Election Forensics Toolkit", R package,
   https://github.com/kkalininMI/EFToolkit.
.. [3] W. R. Mebane Jr., "Election Forensics: Vote Counts and Benford's Law", Political
   Methodology Society summer meeting, 2006.
.. [4] B. Beber and A. Scacco, "What the Numbers Say: A Digit-Based Test for Election Fraud",
   Political Analysis 20(2), 2012.

Examples
--------
>>> import numpy as np
>>> res = digit_tests_arrays({"turnout": [123, 456, 789, 1011] * 10},
...                          denominators={"turnout": [200, 800, 1000, 1500] * 10},
...                          resamples=50, rng=1)
>>> row = res.row("national", "turnout")
>>> row.statistics["2BL"].estimate     # second digits 2, 5, 8, 0
3.75
>>> row.statistics["LastC"].estimate   # last digits 3, 6, 9, 1
4.75
>>> row.statistics["P05s"].estimate     # 62, 57, 79, 67 percent: none ends in 0 or 5
0.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import EmptyInputError, SaylauInputError, SaylauWarning, UnknownNameError
from ..domain.table import ProtocolTable
from ..results import Finding, Result

__all__ = [
    "BENFORD_SECOND_DIGIT_MEAN",
    "DIGIT_CAVEAT",
    "REFERENCE",
    "STATISTICS",
    "DigitStatistic",
    "DigitTestRow",
    "DigitTestsResult",
    "digit_tests",
    "digit_tests_arrays",
]

FloatArray = npt.NDArray[np.float64]

#: The statistics, in the order of the toolkit's table.
STATISTICS: tuple[str, ...] = ("2BL", "LastC", "P05s", "C05s", "Skew", "Kurt")


def _benford_second_digit_mean() -> float:
    d1 = np.arange(1, 10, dtype=np.float64)[:, None]
    d2 = np.arange(10, dtype=np.float64)[None, :]
    p = np.log10(1.0 + 1.0 / (10.0 * d1 + d2)).sum(axis=0)
    return float((p * np.arange(10)).sum())


#: Exact mean of the second significant digit under Benford's law (4.18738...).
BENFORD_SECOND_DIGIT_MEAN: float = _benford_second_digit_mean()

#: Reference values, as the toolkit's table (and its colouring) uses them.
REFERENCE: Mapping[str, float] = {
    "2BL": 4.187,
    "LastC": 4.5,
    "P05s": 0.2,
    "C05s": 0.2,
    "Skew": 0.0,
    "Kurt": 3.0,
}

#: The caveat every digit-test result carries.
DIGIT_CAVEAT = (
    "Digit and distribution tests are weak screens (Hicken & Mebane): a departure from the "
    "reference value says that the counts differ from an idealised process, which strategic "
    "voting, uneven precinct sizes, small counts or honest rounding produce as easily as fraud. "
    "Use them to decide where to look, never as evidence of fraud on their own."
)

#: Largest (resamples x stations) weight matrix built at once by the bootstrap (memory bound:
#: 4e6 cells are 16 MB of int32 indices and 16 MB of float32 weights).
_BLOCK_CELLS = 4_000_000


@dataclasses.dataclass(frozen=True)
class DigitStatistic:
    """One statistic of one quantity in one unit.

    Attributes
    ----------
    name : str
        ``2BL``, ``LastC``, ``P05s``, ``C05s``, ``Skew`` or ``Kurt``.
    estimate : float
        Value on the observed data (NaN when no count qualifies).
    interval : tuple of float
        Basic bootstrap interval at the result's ``alpha`` (NaN when not computable).
    reference : float
        Value expected in the absence of fraud or strategic behaviour.
    nobs : int
        Number of counts (or shares) the statistic uses.
    departs : bool
        Whether the reference lies outside the interval (the toolkit's red cells).
    """

    name: str
    estimate: float
    interval: tuple[float, float]
    reference: float
    nobs: int
    departs: bool


@dataclasses.dataclass(frozen=True)
class DigitTestRow:
    """All statistics of one quantity (``turnout`` or a choice id) in one unit."""

    unit: str
    quantity: str
    nobs: int
    statistics: Mapping[str, DigitStatistic]


@dataclasses.dataclass(frozen=True)
class DigitTestsResult(Result):
    """Digit and distribution tests per unit and quantity.

    Attributes
    ----------
    by : str
        The level whose units are analysed (``"national"`` for one unit).
    units, quantities : tuple of str
        Units (sorted, as R's ``split``) and quantities (``turnout`` first, then choices).
    rows : tuple of DigitTestRow
        One row per unit and quantity, units in the outer loop.
    reference : mapping
        Reference value of every statistic.
    resamples : int
        Bootstrap resamples per unit.
    alpha : float
        The intervals are ``1 - alpha`` intervals.
    last_digit_min : int
        Smallest count whose last digit enters ``LastC``.
    nobs : int
        Stations analysed.
    adjustments : mapping
        How many station-quantity pairs each declared input rule touched: ``share_capped``
        (share above 1, set to 1), ``share_undefined`` (denominator 0 or missing: left out of
        ``P05s``, ``Skew``, ``Kurt``), ``missing_count`` (left out of every statistic).
    departures : mapping
        Per statistic, ``(departing, with an interval)``: in how many unit-quantity cells the
        interval excludes the reference, out of how many have an interval. On honest data many
        cells depart (Skew and Kurt nearly always, as shares are not normal): read the pattern
        across units, not the count.
    method, interval_method, caveat : str
    finding : Finding
        Kind ``screen``: the intervals test against an idealised reference, not against what
        clean elections give, and are not corrected for the many cells, so the result never
        raises an alarm; its caveat says how many cells depart.
    """

    by: str
    units: tuple[str, ...]
    quantities: tuple[str, ...]
    rows: tuple[DigitTestRow, ...]
    reference: Mapping[str, float]
    resamples: int
    alpha: float
    last_digit_min: int
    nobs: int
    adjustments: Mapping[str, int]
    departures: Mapping[str, tuple[int, int]]
    method: str = "Election Forensics Toolkit digit and distribution tests"
    interval_method: str = "nonparametric bootstrap, basic interval"
    caveat: str = DIGIT_CAVEAT

    @property
    def finding(self) -> Finding:
        """A screen, never an alarm; how many cells depart, uncorrected, in the caveat."""
        dep = sum(d for d, _n in self.departures.values())
        tot = sum(n for _d, n in self.departures.values())
        return Finding(
            alarm=False,
            kind="screen",
            caveats=(
                f"a screen against an idealised reference, not calibrated on clean elections: "
                f"{dep} of {tot} unit x statistic cells depart, uncorrected for multiplicity; "
                "honest data depart often",
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, the finding included."""
        out = super().to_dict()
        out["finding"] = self.finding.to_dict()
        return out

    def row(self, unit: str, quantity: str) -> DigitTestRow:
        """The row of one unit and quantity.

        Raises
        ------
        UnknownNameError
            When the unit or quantity is not in the result.
        """
        for r in self.rows:
            if r.unit == unit and r.quantity == quantity:
                return r
        raise UnknownNameError(
            "no digit-test row for this unit and quantity",
            field="unit" if unit not in self.units else "quantity",
            expected=" | ".join(self.units if unit not in self.units else self.quantities),
            found=unit if unit not in self.units else quantity,
        )

    @property
    def flagged(self) -> tuple[tuple[str, str, str], ...]:
        """``(unit, quantity, statistic)`` whose interval excludes the reference value."""
        return tuple(
            (r.unit, r.quantity, s.name)
            for r in self.rows
            for s in r.statistics.values()
            if s.departs
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per unit, quantity and statistic (long form)."""
        records: list[dict[str, Any]] = []
        for r in self.rows:
            for s in r.statistics.values():
                records.append(
                    {
                        "unit": r.unit,
                        "quantity": r.quantity,
                        "statistic": s.name,
                        "estimate": s.estimate,
                        "lower": s.interval[0],
                        "upper": s.interval[1],
                        "reference": s.reference,
                        "nobs": s.nobs,
                        "departs": s.departs,
                    }
                )
        schema = {
            "unit": pl.Utf8,
            "quantity": pl.Utf8,
            "statistic": pl.Utf8,
            "estimate": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "reference": pl.Float64,
            "nobs": pl.Int64,
            "departs": pl.Boolean,
        }
        return pl.DataFrame(records, schema=schema)


# --------------------------------------------------------------------------- digit extraction
def _second_digit(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Second significant digit of non-negative integers >= 10 (undefined entries are -1)."""
    out = np.full(counts.shape, -1, dtype=np.int64)
    ok = counts >= 10
    c = counts[ok]
    powers = 10 ** np.arange(19, dtype=np.int64)
    ndigits = np.searchsorted(powers, c, side="right")  # number of decimal digits
    out[ok] = (c // powers[ndigits - 2]) % 10
    return out


_NCOL = 12  # feature columns per quantity


def _features(
    counts: FloatArray, denominators: FloatArray | None, last_digit_min: int
) -> tuple[FloatArray, dict[str, int]]:
    """Per-station columns whose (bootstrap-weighted) sums give every statistic.

    Columns: 2BL numerator and denominator, LastC numerator and denominator, C05s numerator,
    count present, P05s numerator, share defined, then the share and three placeholders that
    :func:`_centre` fills with the powers 2..4 of the share centred on its unit's mean.
    """
    n = counts.shape[0]
    present = np.isfinite(counts) & (counts >= 0)
    ic = np.where(present, counts, 0).astype(np.int64)
    sd = _second_digit(ic)
    ok2 = present & (sd >= 0)
    last = ic % 10
    okl = present & (ic >= last_digit_min)
    c05 = (last == 0) | (last == 5)
    cols = np.zeros((n, _NCOL), dtype=np.float64)
    cols[:, 0] = np.where(ok2, sd, 0)
    cols[:, 1] = ok2
    cols[:, 2] = np.where(okl, last, 0)
    cols[:, 3] = okl
    cols[:, 4] = present & c05
    cols[:, 5] = present
    info = {"missing_count": int(n - present.sum()), "share_capped": 0, "share_undefined": 0}
    if denominators is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = counts / denominators
        capped = share >= 1  # the toolkit's ifelse(pct >= 1, 1, pct); Inf (x/0, x>0) included
        info["share_capped"] = int((share > 1).sum())
        share = np.where(capped, 1.0, share)
        okp = np.isfinite(share)
        info["share_undefined"] = int(n - okp.sum())
        pct = np.round(np.where(okp, share, 0.0) * 100.0)  # half to even, as R's round()
        cols[:, 6] = (np.fmod(pct, 5.0) == 0) & okp
        cols[:, 7] = okp
        cols[:, 8] = np.where(okp, share, 0.0)
    return cols, info


def _centre(block: FloatArray) -> None:
    """Centre the shares of one unit on their mean and fill in their powers (in place).

    Central moments from centred power sums stay accurate in the bootstrap, where raw power
    sums of shares near 0.6 would lose digits to cancellation.
    """
    ok = block[:, 7::_NCOL]
    x = block[:, 8::_NCOL]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(ok.sum(axis=0) > 0, x.sum(axis=0) / ok.sum(axis=0), 0.0)
    xc = (x - mu) * ok
    block[:, 8::_NCOL] = xc
    block[:, 9::_NCOL] = xc**2
    block[:, 10::_NCOL] = xc**3
    block[:, 11::_NCOL] = xc**4


def _statistics(sums: FloatArray) -> FloatArray:
    """The six statistics from column sums; ``sums`` has the feature columns on its last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.full((*sums.shape[:-1], 6), np.nan)
        out[..., 0] = sums[..., 0] / sums[..., 1]
        out[..., 1] = sums[..., 2] / sums[..., 3]
        out[..., 3] = sums[..., 4] / sums[..., 5]
        out[..., 2] = sums[..., 6] / sums[..., 7]
        n = sums[..., 7]
        e1 = sums[..., 8] / n
        e2 = sums[..., 9] / n
        e3 = sums[..., 10] / n
        e4 = sums[..., 11] / n
        m2 = e2 - e1**2
        m3 = e3 - 3 * e1 * e2 + 2 * e1**3
        m4 = e4 - 4 * e1 * e3 + 6 * e1**2 * e2 - 3 * e1**4
        m2 = np.where(m2 > 0, m2, np.nan)
        out[..., 4] = m3 / m2**1.5
        out[..., 5] = m4 / m2**2
    return out


def _bootstrap(feats: FloatArray, resamples: int, gen: np.random.Generator) -> FloatArray:
    """Column sums of ``feats`` over ``resamples`` bootstrap resamples of its rows.

    Resampling row indices with replacement is the same as weighting each row by its count in
    the resample; the sums of every column are then one matrix product per block of resamples.
    """
    n = feats.shape[0]
    out = np.empty((resamples, feats.shape[1]), dtype=np.float64)
    # Single precision: digit columns are small integers (sums exact below 2**24) and the
    # moment columns are centred shares, whose float32 sums err by ~1e-6 relative, far below
    # the bootstrap's own Monte-Carlo error; it halves the time of the product.
    f32 = feats.astype(np.float32)
    block = max(1, min(resamples, _BLOCK_CELLS // max(n, 1)))
    for start in range(0, resamples, block):
        b = min(block, resamples - start)
        idx = gen.integers(0, n, size=(b, n), dtype=np.int32)  # b * n < 2**31 by _BLOCK_CELLS
        idx += (np.arange(b, dtype=np.int32) * np.int32(n))[:, None]
        w = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float32)
        out[start : start + b] = w @ f32
    return out


def _nan_quantiles(boot: FloatArray, probs: Sequence[float]) -> FloatArray:
    """Quantiles (numpy's default linear rule) along axis 0, ignoring NaN, fully vectorised."""
    srt = np.sort(boot, axis=0)  # NaN sort last
    k = np.isfinite(srt).sum(axis=0)
    out = np.full((len(probs), *boot.shape[1:]), np.nan)
    for i, p in enumerate(probs):
        pos = p * np.maximum(k - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
        frac = pos - lo
        a = np.take_along_axis(srt, lo[None], axis=0)[0]
        b = np.take_along_axis(srt, hi[None], axis=0)[0]
        out[i] = np.where(k > 0, a + frac * (b - a), np.nan)
    return out


def _basic_intervals(t0: FloatArray, boot: FloatArray, alpha: float) -> FloatArray:
    """Basic bootstrap intervals ``2 t0 - q(1 - a/2), 2 t0 - q(a/2)``; shape ``(*t0.shape, 2)``."""
    out = np.full((*t0.shape, 2), np.nan)
    if boot.shape[0] < 2:
        return out
    enough = (np.isfinite(boot).sum(axis=0) >= 2) & np.isfinite(t0)
    q = _nan_quantiles(np.where(np.isfinite(boot), boot, np.nan), [1 - alpha / 2, alpha / 2])
    out[..., 0] = np.where(enough, 2 * t0 - q[0], np.nan)
    out[..., 1] = np.where(enough, 2 * t0 - q[1], np.nan)
    return out


# --------------------------------------------------------------------------- public functions
def _as_float(values: Any, name: str, n: int | None) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise SaylauInputError(
            "counts must be one-dimensional", field=name, expected="1-D array", found=arr.shape
        )
    if n is not None and arr.shape[0] != n:
        raise SaylauInputError(
            "arrays of different lengths", field=name, expected=n, found=arr.shape[0]
        )
    bad = np.isfinite(arr) & ((arr < 0) | (arr != np.round(arr)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SaylauInputError(
            "counts must be whole numbers >= 0",
            row=row + 1,
            field=name,
            expected="integer >= 0",
            found=arr[row],
        )
    return arr


def digit_tests_arrays(
    counts: Mapping[str, Any],
    *,
    denominators: Mapping[str, Any] | None = None,
    units: Sequence[str] | npt.NDArray[Any] | None = None,
    by: str = "national",
    resamples: int = 1000,
    alpha: float = 0.05,
    last_digit_min: int = 0,
    rng: int | np.random.Generator | None = None,
) -> DigitTestsResult:
    """Digit and distribution tests on plain arrays (one entry per station).

    Parameters
    ----------
    counts : mapping of str to array-like
        The counts of each quantity per station (NaN or None for a missing count).
    denominators : mapping of str to array-like, optional
        For the quantities that have a share (turnout: registered; a choice: ballots), the
        denominator per station. Quantities without one get ``P05s``, ``Skew`` and ``Kurt``
        NaN, as in the toolkit.
    units : sequence of str, optional
        The unit of analysis of each station; one unit ``"national"`` when omitted.
    by : str
        Name of the level, recorded in the result.
    resamples : int
        Bootstrap resamples per unit (the toolkit's ``R``; 0 skips the intervals).
    alpha : float
        Intervals are ``1 - alpha`` basic bootstrap intervals.
    last_digit_min : int
        Counts below this are left out of ``LastC`` (0, as the toolkit; Beber & Scacco use 10).
    rng : int or numpy.random.Generator, optional
        Seed or generator of the bootstrap.

    Returns
    -------
    DigitTestsResult

    Raises
    ------
    EmptyInputError
        When there are no quantities or no stations.
    SaylauInputError
        When the arrays differ in length or a count is negative or fractional.

    Examples
    --------
    >>> r = digit_tests_arrays({"A": [15, 25, 35, 45] * 10}, resamples=0)
    >>> r.row("national", "A").statistics["C05s"].estimate
    1.0
    """
    if not counts:
        raise EmptyInputError("no quantities to test", field="counts", expected="at least one")
    if resamples < 0:
        raise SaylauInputError("resamples must be >= 0", field="resamples", found=resamples)
    if not 0 < alpha < 1:
        raise SaylauInputError("alpha must be in (0, 1)", field="alpha", found=alpha)
    gen = np.random.default_rng(rng)
    denominators = denominators or {}
    names = list(counts)
    first = _as_float(counts[names[0]], names[0], None)
    n = first.shape[0]
    if n == 0:
        raise EmptyInputError("no stations", field="counts", expected="at least one station")
    cnt = {q: _as_float(counts[q], q, n) for q in names}
    den: dict[str, FloatArray] = {}
    for q, d in denominators.items():
        if q not in cnt:
            raise UnknownNameError(
                "denominator for an unknown quantity",
                field="denominators",
                found=q,
                expected=" | ".join(names),
            )
        den[q] = _as_float(d, f"denominator of {q}", n)
    if units is None:
        unit_arr = np.full(n, "national", dtype=object)
    else:
        unit_arr = np.asarray(units, dtype=object)
        if unit_arr.shape != (n,):
            raise SaylauInputError(
                "units must have one entry per station",
                field="units",
                expected=n,
                found=unit_arr.shape,
            )
        unit_arr = np.array(["" if u is None else str(u) for u in unit_arr], dtype=object)
    unit_names = [str(u) for u in np.unique(unit_arr.astype(str))]
    if n < 30:
        warnings.warn(
            f"digit tests on {n} stations: the statistics and intervals are very noisy",
            SaylauWarning,
            stacklevel=2,
        )

    feats: list[FloatArray] = []
    adjustments = {"missing_count": 0, "share_capped": 0, "share_undefined": 0}
    for q in names:
        f, info = _features(cnt[q], den.get(q), last_digit_min)
        feats.append(f)
        for key, v in info.items():
            adjustments[key] += v
    all_feats = np.concatenate(feats, axis=1)
    codes = np.unique(unit_arr.astype(str), return_inverse=True)[1]
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(unit_names)))])
    has_share = np.array([q in den for q in names])

    rows: list[DigitTestRow] = []
    with _single_thread_blas():
        for u, unit in enumerate(unit_names):
            rows.extend(
                _unit_rows(
                    unit,
                    all_feats[order[bounds[u] : bounds[u + 1]]],
                    names,
                    has_share,
                    resamples,
                    alpha,
                    gen,
                )
            )

    return DigitTestsResult(
        by=by,
        units=tuple(unit_names),
        quantities=tuple(names),
        rows=tuple(rows),
        reference=dict(REFERENCE),
        resamples=resamples,
        alpha=alpha,
        last_digit_min=last_digit_min,
        nobs=n,
        adjustments=adjustments,
        departures={
            name: (
                sum(r.statistics[name].departs for r in rows),
                sum(math.isfinite(r.statistics[name].interval[0]) for r in rows),
            )
            for name in STATISTICS
        },
    )


def _single_thread_blas() -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread for the bootstrap's many mid-sized products, when threadpoolctl is there.

    Each product is too small to gain from a second thread, and on a shared machine OpenBLAS's
    spinning threads make it several times slower; without threadpoolctl nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limiter


def _unit_rows(
    unit: str,
    uf: FloatArray,
    names: Sequence[str],
    has_share: npt.NDArray[np.bool_],
    resamples: int,
    alpha: float,
    gen: np.random.Generator,
) -> list[DigitTestRow]:
    """Every statistic, with its interval, of every quantity in one unit (rows of ``uf``)."""
    nq = len(names)
    nobs_cols = (1, 3, 7, 5, 7, 7)  # which column counts the observations of each statistic
    _centre(uf)
    sums = uf.sum(axis=0).reshape(nq, _NCOL)
    t0 = _statistics(sums)
    t0[~has_share, 2] = np.nan
    t0[~has_share, 4:] = np.nan
    if resamples > 0:
        boot = _statistics(_bootstrap(uf, resamples, gen).reshape(resamples, nq, _NCOL))
        iv = _basic_intervals(t0, boot, alpha)
    else:
        iv = np.full((nq, 6, 2), np.nan)
    rows: list[DigitTestRow] = []
    for j, q in enumerate(names):
        stats_q: dict[str, DigitStatistic] = {}
        for s_, name in enumerate(STATISTICS):
            est = float(t0[j, s_])
            lo, hi = float(iv[j, s_, 0]), float(iv[j, s_, 1])
            ref = REFERENCE[name]
            departs = bool(math.isfinite(lo) and math.isfinite(hi) and (hi <= ref or lo >= ref))
            stats_q[name] = DigitStatistic(
                name=name,
                estimate=est,
                interval=(lo, hi),
                reference=ref,
                nobs=int(sums[j, nobs_cols[s_]]) if math.isfinite(est) else 0,
                departs=departs,
            )
        rows.append(DigitTestRow(unit=unit, quantity=q, nobs=int(uf.shape[0]), statistics=stats_q))
    return rows


def _unit_labels(table: ProtocolTable, by: str | None) -> tuple[str, npt.NDArray[Any] | None]:
    """Unit name per station: the path of levels down to ``by`` (names repeat across parents)."""
    if by is None or by == "national" or (by == "region" and by not in table.frame.columns):
        return "national", None  # as the other methods: no regions, one national unit
    if by not in table.frame.columns:
        raise UnknownNameError(
            "unknown level for the digit tests",
            file=table.source,
            field="by",
            expected=" | ".join((*table.levels, "national")),
            found=by,
        )
    path = table.levels[: table.levels.index(by) + 1] if by in table.levels else (by,)
    parts = [table.level_values(level).astype(str) for level in path]
    labels = parts[0]
    for p in parts[1:]:
        labels = np.char.add(np.char.add(labels.astype(str), " / "), p)
    return by, labels.astype(object)


def digit_tests(
    table: ProtocolTable,
    *,
    by: str | None = "region",
    choices: Sequence[str] | None = None,
    resamples: int = 1000,
    alpha: float = 0.05,
    last_digit_min: int = 0,
    rng: int | np.random.Generator | None = None,
) -> DigitTestsResult:
    """Digit and distribution tests of a protocol table, per unit of analysis.

    Quantities: ``turnout`` (count = ballots issued, share = issued / registered) and every
    choice (Against all included; count = its votes, share = votes / (valid + invalid), or
    / issued when the table has no valid and invalid lines).

    Parameters
    ----------
    table : ProtocolTable
    by : str or None
        Level whose units are analysed (``"region"``; any level or column of the table);
        ``None`` or ``"national"`` for the whole table (also what the default means on a table
        without a ``region`` level). A unit is named by its path of levels
        (``"region / tik"``) because lower-level names repeat across parents.
    choices : sequence of str, optional
        Choices to test (names as :meth:`ProtocolTable.choice` resolves them); all by default.
    resamples, alpha, last_digit_min, rng
        As in :func:`digit_tests_arrays`.

    Returns
    -------
    DigitTestsResult

    Notes
    -----
    Declared input rules, counted in ``adjustments``: missing counts are left out of every
    statistic of that count; a share above 1 is set to 1 (the toolkit's rule); a share with a
    zero or missing denominator is left out of ``P05s``, ``Skew`` and ``Kurt``.

    References
    ----------
    .. [1] A. Hicken and W. R. Mebane Jr., "A Guide to Election Forensics", 2015/2017.
    .. [2] K. Kalinin and W. R. Mebane Jr., R package ``EFToolkit``, ``BasicElectionForensics``.

    Examples
    --------
    >>> import polars as pl
    >>> from saylau.domain.table import ProtocolTable
    >>> t = ProtocolTable.from_frame(
    ...     pl.DataFrame({"station": [str(i) for i in range(40)], "region": ["N"] * 20 + ["S"] * 20,
    ...                   "voters_on_list": [1000 + 37 * i for i in range(40)],
    ...                   "issued": [600 + 11 * i for i in range(40)], "invalid": [0] * 40,
    ...                   "valid": [600 + 11 * i for i in range(40)],
    ...                   "A": [400 + 7 * i for i in range(40)],
    ...                   "B": [200 + 4 * i for i in range(40)]}),
    ...     profile="plain", choices=["A", "B"], levels=["region"])
    >>> res = digit_tests(t, resamples=100, rng=0)
    >>> res.units, res.quantities
    (('N', 'S'), ('turnout', 'A', 'B'))
    >>> res.row("N", "turnout").statistics["2BL"].estimate  # 600, 611, ..., 809: (45 + 45) / 20
    4.5
    """
    if table.stations == 0:
        raise EmptyInputError("the table has no stations", file=table.source)
    if "station" in table.frame.columns:
        # a canonical row order (by station id), so that the bootstrap, hence the intervals,
        # do not depend on how the file happened to be sorted
        table = dataclasses.replace(
            table, frame=table.frame.sort("station", maintain_order=True, nulls_last=True)
        )
    by_name, units = _unit_labels(table, by)
    # the turnout count: ballots issued, or what the commission's turnout counts (optional line)
    basis = table.turnout_basis
    issued = table.turnout_ballots().astype(np.float64)
    issued_null = table.frame.get_column(basis).is_null().to_numpy() if basis in table else None
    if issued_null is not None:
        issued[issued_null] = np.nan
    registered = _line_or_nan(table, "voters_on_list")
    if table.has_line("valid") and table.has_line("invalid"):
        ballots = _line_or_nan(table, "valid") + _line_or_nan(table, "invalid")
    else:
        ballots = issued
    selected = table.choices if choices is None else tuple(table.choice(c) for c in choices)
    counts: dict[str, FloatArray] = {"turnout": issued}
    dens: dict[str, FloatArray] = {"turnout": registered}
    for c in selected:
        col = table.frame.get_column(c.id)
        v = col.cast(pl.Float64).to_numpy().astype(np.float64)
        counts[c.id] = v
        dens[c.id] = ballots
    return digit_tests_arrays(
        counts,
        denominators=dens,
        units=units,
        by=by_name,
        resamples=resamples,
        alpha=alpha,
        last_digit_min=last_digit_min,
        rng=rng,
    )


def _line_or_nan(table: ProtocolTable, key: str) -> FloatArray:
    col = table.frame.get_column(key) if key in table else None
    if col is None:
        table.line(key)  # raises UnknownNameError naming the lines the table has
        raise AssertionError("unreachable")  # pragma: no cover
    return np.asarray(col.cast(pl.Float64).to_numpy(), dtype=np.float64)
