"""Exit polls: interview records, design weights and design-based estimates of vote shares.

An exit poll interviews every k-th voter leaving a sample of polling stations. The stations are
the primary sampling units (clusters): voters of one station resemble each other, so the
interviews are not a simple random sample, and the margin of error must come from the variation
*between stations* within strata. This module

* reads interview records (:func:`read_interviews`, :func:`interviews_from_frame`): station, time
  band, answer (a choice, Against all included, ``refused`` or ``dont_know``), optionally gender
  and age band. Columns that could identify a respondent (name, phone, e-mail, address, passport
  or ID numbers, birth date...) are refused with an error naming them; a poll never needs them.
* weights each answer (:func:`estimate_exitpoll`) for the unequal selection of stations, for
  stations that never reported, for refusals per station and time band, optionally calibrates
  the weights by raking to known margins (gender × age of the voters), and
* estimates the shares by the ratio estimator with its Taylor-linearised stratified-cluster
  covariance, df = stations − strata, and the design effect of every choice.

Formulas
--------
Station *s* in stratum *h* is selected with probability :math:`\\pi_s` (from the frame; by
default :math:`n_h / N_h`, stratified simple random sampling). If only :math:`r_h` of the
:math:`n_h` sampled stations of a stratum report, the reporting ones carry their stratum's
weight: :math:`d_s = \\pi_s^{-1} \\cdot \\sum_{h,\\text{sampled}} \\pi^{-1} /
\\sum_{h,\\text{reported}} \\pi^{-1}`. In time band *b* of station *s*, :math:`A_{sb}` voters were
approached (from the interviewer's tally, else the records: answers + refusals + don't know +
uncodable) and :math:`m_{sb}` gave a codable choice; each answer gets the non-response factor
:math:`a_{sb} = A_{sb} / m_{sb}` (a band with no answer passes its approached voters to the
station's other bands). With an interviewer skip interval :math:`k_s` (optional), the weight of
answer *i* is :math:`w_i = d_s k_s a_{sb}`. Raking multiplies :math:`w_i` by iterative
proportional fitting (Deming & Stephan, 1940) until every margin holds.

The share of choice *c* is the ratio :math:`\\hat p_c = \\sum_i w_i y_{ic} / \\sum_i w_i`. Its
linearised variable (Woodruff, 1971) summed per station is
:math:`z_{sc} = \\sum_{i \\in s} w_i (y_{ic} - \\hat p_c) / \\sum_i w_i`; after raking, the
residual of a weighted regression of :math:`y_{ic} - \\hat p_c` on the margin indicators is
used instead (Deville & Särndal, 1992). The covariance between choices is

.. math:: \\hat V = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1} \\sum_{s \\in h}
          (z_s - \\bar z_h)(z_s - \\bar z_h)^\\top,

with :math:`f_h = 0` by default (with-replacement approximation, which also covers the
within-station stage; Wolter 2007, §1.4) or :math:`n_h / N_h` with ``fpc=True``. Intervals use
the t distribution with :math:`\\sum_h n_h - H` degrees of freedom. The design effect of a
choice is :math:`\\hat V_{cc} / (\\hat p_c (1 - \\hat p_c) / m)` with *m* answers (Kish, 1965).
With clusters of size one and equal weights, :math:`\\hat V = \\hat p (1 - \\hat p)/(m - 1)`,
the unbiased simple-random-sampling estimate (Cochran, 1977, §3.3).

Declared rules for bad input (each case is listed in ``extra`` of the result): a record for a
station not in the frame, or not in the sample, is kept out; an uncodable answer is kept out of
the shares and counts as an approached voter without an answer; a sampled station without any
codable answer passes its weight to the reporting stations of its stratum; a stratum without
any is an error (or, on request, left out of the estimate); a stratum with one reporting station
is merged into its neighbour in sorted order, with a warning (or an error on request). A tally
without a ``band`` column gives one non-response factor per station.

The implementation is NumPy (``bincount`` group sums), so that a million interviews take well
under a second. ``svy`` (the maintained successor of samplics) serves as the independent
implementation in the tests, where it reproduces the covariance to 1e-8, and in the benchmark;
it is not called at run time because the estimator needs the calibration residuals after
raking, and the variance ``svy`` 0.35 reports after its own ``rake`` matched neither fixed
weights nor those residuals in our checks (its rule is not documented). The tests also check the
formulas against statsmodels' cluster-robust standard error, hand computations and closed forms.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.
Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency
table when the expected marginal totals are known. *Ann. Math. Statist.* 11(4), 427-444.
Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87,
376-382.
Kish, L. (1965). *Survey Sampling*. Wiley.
Korn, E. L. & Graubard, B. I. (1999). *Analysis of Health Surveys*. Wiley.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
Woodruff, R. S. (1971). A simple method for approximating the variance of a complicated
estimate. *JASA* 66, 411-414.

Examples
--------
>>> import polars as pl
>>> rows = pl.DataFrame({
...     "station": ["1", "1", "1", "2", "2", "2", "3", "3", "4", "4"],
...     "band": ["am"] * 10,
...     "choice": ["A", "B", "refused", "A", "A", "B", "B", "Against all", "A", "B"]})
>>> iv = interviews_from_frame(rows, choices=["A", "B", "Against all"])
>>> frame = pl.DataFrame({"station": ["1", "2", "3", "4"], "stratum": ["x", "x", "y", "y"]})
>>> est = estimate_exitpoll(iv, frame)
>>> est.choices
('A', 'B', 'Against all')
>>> [round(float(p), 3) for p in est.estimate]
[0.45, 0.45, 0.1]
>>> est.df, est.n_psu, est.n_strata
(2.0, 4, 2)
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import (
    DataFormatError,
    EmptyInputError,
    SaylauInputError,
    SaylauWarning,
    UnknownNameError,
)
from ..domain.table import RowProblem
from .estimates import ShareEstimates
from .exitpoll_null import StationReports, station_reports
from .exitpoll_weights import _apply_tally, _calibration_term, _check_tally, _rake
from .frame import SamplingFrame
from .interviews import (
    ANSWER,
    DONT_KNOW,
    REFUSED,
    UNKNOWN,
    Interviews,
    identifying_columns,
    interviews_from_frame,
    read_interviews,
    station_answers,
)
from .quickcount import StratumStatus
from .variance import (
    collapse_singletons,
    nonresponse_factor,
    stratified_cov,
    stratum_factor,
    two_phase_scores,
)

__all__ = [
    "ANSWER",
    "DONT_KNOW",
    "REFUSED",
    "UNKNOWN",
    "ExitPollResult",
    "Interviews",
    "estimate_by_stratum",
    "estimate_exitpoll",
    "identifying_columns",
    "interviews_from_frame",
    "read_interviews",
    "station_answers",
]

#: The rule stated when the voters approached come from the records alone (no tally).
NO_TALLY = (
    "the records (answers, refusals, don't know): no interviewers' tally (voters approached, "
    "interviewing interval), so intervals and refusals that differ between stations are not "
    "corrected"
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True, eq=False)
class ExitPollResult(ShareEstimates):
    """An exit poll's shares (a :class:`ShareEstimates`) with what went into them.

    The estimate's fields are those of :class:`ShareEstimates`; ``shares`` gives them as a
    plain :class:`ShareEstimates`, as :class:`~saylau.survey.quickcount.QuickCountResult`
    does. ``extra`` keeps the method's detailed summary (record counts, Satterthwaite df...).

    Parameters
    ----------
    stations_sampled, stations_reported : int
    stations_missing : tuple of str
        Sampled stations without a codable answer (their weight went to their stratum).
    strata : tuple of StratumStatus
        Per stratum: stations in the frame, sampled, reported, merged into.
    excluded : tuple of str
        Records kept out, each with file, row and reason.
    nonresponse_rate : float or None
        Approached voters without a codable answer.
    rules : mapping
        The declared rules applied, in words.
    """

    stations_sampled: int = 0
    stations_reported: int = 0
    stations_missing: tuple[str, ...] = ()
    strata: tuple[StratumStatus, ...] = ()
    excluded: tuple[str, ...] = ()
    nonresponse_rate: float | None = None
    rules: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: per reporting station, for the re-drawn per-stratum tests (not rendered)
    _reports: StationReports | None = dataclasses.field(default=None, repr=False)

    @property
    def shares(self) -> ShareEstimates:
        """The estimate alone, as a plain :class:`ShareEstimates`."""
        return ShareEstimates(
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(ShareEstimates)}
        )


# ---------------------------------------------------------------------------------------------
# Design


@dataclasses.dataclass(frozen=True)
class _Design:
    station: list[str]  # frame stations
    stratum: list[str]  # stratum label of every frame station
    code: IntArray  # index of the stratum label in ``names``
    names: list[str]  # sorted stratum labels
    weight: FloatArray  # 1 / pi for every frame station
    sampled: npt.NDArray[np.bool_]
    stratum_size: IntArray  # N_h: frame stations per stratum (by code)


def _frame_columns(frame: Any) -> pl.DataFrame:
    df = getattr(frame, "frame", frame)
    if not isinstance(df, pl.DataFrame):
        try:
            df = pl.from_pandas(df)
        except (TypeError, ValueError):
            raise DataFormatError(
                "a frame must be a polars or pandas DataFrame",
                field="frame",
                expected="DataFrame with a station column",
                found=type(frame).__name__,
            ) from None
    return df


def _frame_of_draw(frame: Any, sample: Any) -> pl.DataFrame:
    """A design table from a :class:`~saylau.survey.sample.SampleDraw` and its frame."""
    df = _frame_columns(frame)
    ids = df["station"].cast(pl.Utf8).to_list()
    labels: list[str]
    if hasattr(frame, "stratum_labels"):
        labels = [str(v) for v in frame.stratum_labels(list(sample.strata_columns))]
    else:
        labels = ["all"] * len(ids)
    pos = {s: i for i, s in enumerate(ids)}
    prob = np.zeros(len(ids))
    for st, h, pr in zip(sample.stations, sample.stratum, sample.prob, strict=True):
        if st not in pos:
            raise UnknownNameError(
                "a sampled station is not in the frame",
                field="station",
                expected="a station of the frame the sample was drawn from",
                found=st,
            )
        labels[pos[st]] = str(h)
        prob[pos[st]] = float(pr)
    return pl.DataFrame({"station": ids, "stratum": labels, "prob": prob})


def _design(
    frame: Any, sampled: Iterable[str] | None, strata: str | Sequence[str] | None
) -> _Design:
    df = _frame_columns(frame)
    if "station" not in df.columns:
        raise DataFormatError(
            "the frame has no station column",
            field="station",
            expected="station",
            found=", ".join(df.columns),
        )
    if df.height == 0:
        raise EmptyInputError("the frame lists no stations", field="station")
    station = df["station"].cast(pl.Utf8).to_list()
    dup = df.filter(pl.col("station").cast(pl.Utf8).is_duplicated())
    if dup.height:
        raise DataFormatError(
            "a station appears twice in the frame",
            field="station",
            expected="unique station ids",
            found=str(dup["station"][0]),
        )
    cols = [strata] if isinstance(strata, str) else list(strata or [])
    if not cols and "stratum" in df.columns:
        cols = ["stratum"]
    for c in cols:
        if c not in df.columns:
            raise UnknownNameError(
                "unknown strata column", field="strata", expected=", ".join(df.columns), found=c
            )
    if cols:
        labels = (
            df.select(pl.concat_str([pl.col(c).cast(pl.Utf8) for c in cols], separator=" | "))
            .to_series()
            .fill_null("")
        )
    else:
        labels = pl.Series("stratum", ["all"] * df.height, dtype=pl.Utf8)
    names = sorted(labels.unique().to_list())
    code = labels.cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)
    stratum = labels.to_list()
    sizes = np.bincount(code, minlength=len(names))
    if sampled is not None:
        chosen = {str(s) for s in sampled}
        ids = df["station"].cast(pl.Utf8)
        is_sampled = ids.is_in(pl.Series(sorted(chosen), dtype=pl.Utf8).implode()).to_numpy()
        unknown = sorted(chosen - set(station))
        if unknown:
            raise UnknownNameError(
                "a sampled station is not in the frame",
                field="station",
                expected="a frame station",
                found=unknown[0],
            )
    elif "sampled" in df.columns:
        col = df["sampled"]
        if col.dtype == pl.Utf8:
            col = col.str.strip_chars().str.to_lowercase().is_in(["true", "1", "yes", "y"])
        is_sampled = col.cast(pl.Boolean).fill_null(False).to_numpy().astype(bool)
    else:
        is_sampled = np.ones(df.height, dtype=bool)
    is_sampled = np.asarray(is_sampled, dtype=bool)
    n_sampled = np.bincount(code[is_sampled], minlength=len(names))
    prob_col = next((c for c in ("prob", "inclusion_prob", "pi") if c in df.columns), None)
    wcol = next((c for c in ("weight", "design_weight") if c in df.columns), None)
    if prob_col is not None:
        prob = df[prob_col].cast(pl.Float64, strict=False).fill_null(0.0).to_numpy()
        bad = is_sampled & ~((prob > 0) & (prob <= 1))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                "inclusion probability out of range",
                row=k + 1,
                field=prob_col,
                expected="0 < p <= 1",
                found=str(prob[k]),
            )
        weight = np.where(is_sampled, 1.0 / np.where(prob > 0, prob, 1.0), 0.0)
    elif wcol is not None:
        raw_w = df[wcol].cast(pl.Float64, strict=False).fill_null(0.0).to_numpy().astype(float)
        weight = np.where(is_sampled, raw_w, 0.0)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(n_sampled > 0, sizes / np.maximum(n_sampled, 1), 0.0)
        weight = np.where(is_sampled, ratio[code], 0.0)
    return _Design(station, stratum, code, names, weight, is_sampled, sizes)


def estimate_exitpoll(
    interviews: Interviews,
    frame: SamplingFrame | pl.DataFrame | Any,
    *,
    sample: Any | None = None,
    sampled: Iterable[str] | None = None,
    strata: str | Sequence[str] | None = None,
    tally: pl.DataFrame | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    nonresponse: bool = True,
    cluster: bool = True,
    fpc: bool = False,
    calibration_variance: bool = True,
    df_method: Literal["design", "satterthwaite"] = "design",
    singleton: Literal["collapse", "raise"] = "collapse",
    missing_strata: Literal["raise", "ignore"] = "raise",
) -> ExitPollResult:
    """Design-based vote shares from exit-poll interviews (formulas in the module docstring).

    Parameters
    ----------
    interviews : Interviews
        Coded records (:func:`read_interviews`).
    frame : SamplingFrame or polars.DataFrame
        Polling stations (:class:`~saylau.survey.frame.SamplingFrame`, as the quick count
        takes, or a table): ``station``; optional ``stratum`` (or the columns named by
        ``strata``), ``prob`` (inclusion probability; else ``weight``; else N_h / n_h),
        ``sampled`` (bool).
    sample : SampleDraw, optional
        The draw (:func:`saylau.survey.sample.draw_sample`): sampled stations, their strata
        and inclusion probabilities.
    sampled : iterable of str, optional
        The drawn stations, when no ``sample`` is given (else the frame's ``sampled`` column,
        else every frame station with at least one record: stations that never reported
        cannot be detected then).
    strata : str or sequence of str, optional
        Frame columns whose combination is the stratum (default ``stratum`` if present).
    tally : polars.DataFrame, optional
        Interviewer tally: ``station``, ``band`` (optional), ``approached`` (voters approached,
        answering or not) and/or ``skip`` (the interval k of that station, e.g. set from its
        expected turnout).
    margins : mapping, optional
        Raking targets ``{column: {level: share or total}}`` (e.g. ``{"gender": {"f": 0.55,
        "m": 0.45}}``, from official turnout by gender and age). Only proportions matter: each
        margin is scaled to the weighted total. An answer whose level has no target is an
        error naming its row.
    nonresponse : bool
        Apply the station × band non-response factor (default True).
    cluster : bool
        Stations as clusters (default). ``False`` treats interviews as independent
        (stratified SRS variance): wrong for exit polls, kept to show what clustering costs.
    fpc : bool
        Finite-population correction 1 − n_h/N_h (default off; see the module docstring).
    calibration_variance : bool
        After raking, linearise with the residuals on the margin indicators (default; Deville
        & Särndal, 1992). ``False`` treats the raked weights as fixed (what ``svy`` does),
        which overstates the variance of choices correlated with the margins.
    df_method : {"design", "satterthwaite"}
        Degrees of freedom of the intervals and tests: stations − strata (default), or the
        smallest Satterthwaite effective df over the choices, (Σ_h V_h)² / Σ_h V_h²/(n_h − 1)
        (Korn & Graubard, 1999, §5.2), better with many strata of two or three stations whose
        variances differ widely. Both are in ``extra`` (``df_design``, ``df_satterthwaite``).
    singleton : {"collapse", "raise"}
        A stratum with one reporting station: merged into the next stratum in sorted order
        (the last into the previous one), with a warning and a record in ``extra``; or raise.
    missing_strata : {"raise", "ignore"}
        A stratum whose sampled stations all failed to report: raise, or estimate for the
        strata that reported (listed in ``extra``).

    Returns
    -------
    ExitPollResult
        The shares with their covariance (a :class:`ShareEstimates`) and, typed, stations
        sampled / reported / missing, per-stratum status, records kept out, the non-response
        rate and the rules applied. ``extra`` also holds: ``stations_sampled``,
        ``stations_reported``, ``stations_missing``, ``per_stratum``, record counts by
        status, ``nonresponse_rate``, ``excluded`` (row problems), ``unknown_values``,
        ``collapsed_strata``, ``deff_weighting`` and the rules applied.

    Examples
    --------
    See the module docstring.
    """
    if sample is not None:
        frame, sampled, strata = _frame_of_draw(frame, sample), list(sample.stations), "stratum"
    elif sampled is None and "sampled" not in _frame_columns(frame).columns:
        fr_ids = set(_frame_columns(frame)["station"].cast(pl.Utf8).to_list())
        sampled = sorted(set(interviews.data["station"].unique().to_list()) & fr_ids)
    des = _design(frame, sampled, strata)
    source = interviews.source
    data = interviews.data
    frame_stations = pl.DataFrame(
        {
            "station": des.station,
            "_fidx": np.arange(len(des.station), dtype=np.int64),
            "_sampled": des.sampled,
        }
    )
    data = data.join(frame_stations, on="station", how="left")
    excluded: list[RowProblem] = list(interviews.problems)
    outside = data.filter(pl.col("_fidx").is_null() | ~pl.col("_sampled").fill_null(False))
    excluded_stations: dict[str, str] = {}
    if outside.height:
        pos = set(des.station)
        for st in outside["station"].unique().sort().to_list():
            why = "not in the frame" if st not in pos else "not in the sample"
            excluded_stations[st] = why
        for rec in outside.head(100).iter_rows(named=True):
            why = excluded_stations[rec["station"]]
            excluded.append(
                RowProblem(
                    file=source,
                    row=int(rec["row"]),
                    station=rec["station"],
                    field="station",
                    message=f"station {why}: record kept out of the estimate",
                    expected="a sampled frame station",
                    found=rec["station"],
                )
            )
        data = data.filter(pl.col("_fidx").is_not_null() & pl.col("_sampled"))
    status_counts = {
        s: int((data["status"] == s).sum()) for s in (ANSWER, REFUSED, DONT_KNOW, UNKNOWN)
    }
    answers = data.filter(pl.col("status") == ANSWER)
    if answers.height == 0:
        raise EmptyInputError(
            "no interview with a codable choice at a sampled station",
            file=source,
            field="choice",
            expected="at least one answer",
            found=f"{data.height} usable records",
        )
    k = len(interviews.choices)
    choice_index = {c: i for i, c in enumerate(interviews.choices)}

    # --- station weights d_s, with the reporting adjustment within strata
    fidx = answers["_fidx"].to_numpy().astype(np.int64)
    reported = np.zeros(len(des.station), dtype=bool)
    reported[fidx] = True
    strata_names = des.names
    h_of = np.where(des.sampled, des.code, -1)
    n_h = np.bincount(h_of[des.sampled], minlength=len(strata_names))
    r_h = np.bincount(h_of[reported], minlength=len(strata_names))
    missing = [strata_names[i] for i in np.flatnonzero((r_h == 0) & (n_h > 0))]
    if missing and missing_strata == "raise":
        raise EmptyInputError(
            "no station of this stratum reported a codable interview; pass "
            "missing_strata='ignore' to estimate for the other strata",
            field="stratum",
            expected="at least one reporting station per stratum",
            found=missing[0],
        )
    adj = nonresponse_factor(
        des.weight[des.sampled], des.code[des.sampled], reported[des.sampled], len(strata_names)
    )
    d = des.weight * np.where(h_of >= 0, adj[np.maximum(h_of, 0)], 0.0)

    # --- station × band non-response factors a_sb (and skip k_s)
    if tally is not None and "band" not in tally.columns:
        data = data.with_columns(pl.lit("all").alias("band"))  # a tally per station only
        answers = answers.with_columns(pl.lit("all").alias("band"))
    recs = data.select("station", "band", "status")
    grid = recs.group_by(["station", "band"]).agg(
        pl.len().alias("records"), (pl.col("status") == ANSWER).sum().alias("m")
    )
    skip_of: dict[str, float] = {}
    if tally is not None and "approached" in tally.columns:
        grid = _apply_tally(grid, tally)
    else:
        grid = grid.with_columns(pl.col("records").cast(pl.Float64).alias("approached"))
    if tally is not None:
        _check_tally(tally)
        if "skip" in tally.columns:
            for st, kk in tally.select("station", "skip").unique("station").iter_rows():
                skip_of[str(st)] = float(kk)
    if nonresponse:
        st_tot = grid.group_by("station").agg(
            pl.col("approached").sum().alias("A_s"),
            pl.col("approached").filter(pl.col("m") > 0).sum().alias("A_s_ans"),
        )
        grid = grid.join(st_tot, on="station").with_columns(
            pl.when(pl.col("m") > 0)
            .then(pl.col("approached") / pl.col("m") * pl.col("A_s") / pl.col("A_s_ans"))
            .otherwise(0.0)
            .alias("a")
        )
    else:
        grid = grid.with_columns(pl.lit(1.0).alias("a"))
    answers = answers.join(grid.select("station", "band", "a"), on=["station", "band"])
    a = answers["a"].to_numpy().astype(float)
    fidx = answers["_fidx"].to_numpy().astype(np.int64)
    w = d[fidx] * a
    if skip_of:
        kvec = np.ones(len(des.station))
        for i in np.flatnonzero(des.sampled):
            kvec[i] = skip_of.get(des.station[i], 1.0)
        w = w * kvec[fidx]
    y = answers["choice"].replace_strict(choice_index, return_dtype=pl.Int64).to_numpy()
    reports = station_reports(
        des.station,
        des.stratum,
        fidx,
        y,
        k,
        dict(grid.group_by("station").agg(pl.col("approached").sum()).iter_rows()),
        skip_of,
        srs_within=all(
            np.ptp(des.weight[des.sampled & (des.code == h)]) == 0
            for h in np.unique(des.code[des.sampled]).tolist()
        ),
    )
    keep = w > 0
    if not keep.all():  # only answers in strata dropped by missing_strata="ignore"
        answers, w, y, fidx = answers.filter(pl.Series(keep)), w[keep], y[keep], fidx[keep]

    # --- raking
    margin_codes: list[IntArray] = []
    rake_iter = 0
    if margins:
        targets: list[FloatArray] = []
        for col, spec in margins.items():
            if col not in answers.columns:
                raise UnknownNameError(
                    "raking margin is not a column of the interviews",
                    field=col,
                    expected=", ".join(c for c in answers.columns if not c.startswith("_")),
                    found=col,
                )
            levels = list(spec)
            lut = {str(lv): i for i, lv in enumerate(levels)}
            vals = answers[col].to_list()
            codes = np.fromiter(
                (lut.get(str(v), -1) for v in vals), dtype=np.int64, count=len(vals)
            )
            if (codes < 0).any():
                bad = int(np.flatnonzero(codes < 0)[0])
                raise DataFormatError(
                    "an answer's raking variable has no target",
                    file=source,
                    row=int(answers["row"][bad]),
                    field=col,
                    expected=" | ".join(levels),
                    found=vals[bad] if vals[bad] is not None else "empty",
                )
            tgt = np.array([float(spec[lv]) for lv in levels], dtype=float)
            if (tgt <= 0).any():
                raise DataFormatError(
                    "raking target must be positive",
                    field=col,
                    expected="> 0",
                    found=str(tgt.min()),
                )
            margin_codes.append(codes)
            targets.append(tgt / tgt.sum() * w.sum())
        w, rake_iter = _rake(w, margin_codes, targets)

    # --- PSUs and strata for the variance
    st_h = h_of[fidx]
    psu = fidx if cluster else np.arange(len(w), dtype=np.int64)
    psu_codes, psu_inv = np.unique(psu, return_inverse=True)
    p_n = len(psu_codes)
    psu_h = np.zeros(p_n, dtype=np.int64)
    psu_h[psu_inv] = st_h
    used_h = sorted(set(psu_h.tolist()))
    collapsed: list[tuple[str, str]] = []
    orig_h = psu_h.copy()
    psu_h, collapsed = _collapse_singletons(psu_h, used_h, strata_names, singleton)

    x_tot = float(w.sum())
    yw: FloatArray = np.bincount(psu_inv * k + y, weights=w, minlength=p_n * k).astype(float)
    yw = yw.reshape(p_n, k)
    xw: FloatArray = np.bincount(psu_inv, weights=w, minlength=p_n).astype(float)
    p = yw.sum(axis=0) / x_tot
    z: FloatArray = yw - np.outer(xw, p)  # sum_i w_i (y_ic - p_c) per PSU
    if margin_codes and calibration_variance:
        z = z - _calibration_term(w, y, k, p, psu_inv, p_n, margin_codes)
    z /= x_tot
    # the reporting factor a_h is estimated: where station weights differ within a stratum
    # and some sampled station is missing, its variance counts (two-phase scores, variance.py)
    if cluster:
        miss = des.sampled & ~reported & (h_of >= 0)
        unequal = [
            h
            for h in np.unique(h_of[miss]).tolist()
            if np.ptp(des.weight[des.sampled & (des.code == h)]) > 0
        ]
        if unequal:
            fidx_psu = np.zeros(p_n, dtype=np.int64)
            fidx_psu[psu_inv] = fidx
            extra_st = np.flatnonzero(miss & np.isin(des.code, unequal))
            all_f = np.concatenate([fidx_psu, extra_st])
            rep = np.concatenate([np.ones(p_n, dtype=bool), np.zeros(len(extra_st), dtype=bool)])
            t = np.vstack(
                [
                    z / np.maximum(adj[des.code[fidx_psu]], 1e-300)[:, None],
                    np.zeros((len(extra_st), k)),
                ]
            )
            two = np.isin(des.code[all_f], unequal)
            zz = two_phase_scores(
                t[two], des.weight[all_f[two]], des.code[all_f[two]], rep[two], len(strata_names)
            )
            z = np.vstack([z[~two[:p_n]], zz])
            lone_map = dict(zip(orig_h.tolist(), psu_h.tolist(), strict=True))
            psu_h = np.concatenate([psu_h[~two[:p_n]], des.code[all_f[two]]])
            # a station of a merged (single-report) stratum keeps its merged variance stratum
            for j in range(len(psu_h)):
                psu_h[j] = lone_map.get(int(psu_h[j]), int(psu_h[j]))
    groups_h, hcode = np.unique(psu_h, return_inverse=True)
    counts_h = np.bincount(hcode)
    factor = stratum_factor(counts_h, des.stratum_size[groups_h] if fpc else None)
    cov, satt = stratified_cov(z, hcode, factor)
    n_ans = len(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(p * (1 - p) > 0, np.diag(cov) / (p * (1 - p) / n_ans), np.nan)
    n_strata = len(set(psu_h.tolist()))
    approached = float(grid["approached"].sum())
    per_stratum = {
        strata_names[i]: {"sampled": int(n_h[i]), "reported": int(r_h[i])}
        for i in range(len(strata_names))
        if n_h[i] > 0
    }
    stations_missing = sorted(des.station[i] for i in np.flatnonzero(des.sampled & ~reported))
    method = "exit poll: weighted ratio, Taylor linearisation, " + (
        "stratified cluster (stations) variance" if cluster else "interviews as independent (SRS)"
    )
    if margins:
        method += ", raked weights (calibration residuals)"
    extra: dict[str, Any] = {
        "stations_sampled": int(des.sampled.sum()),
        "stations_reported": int(reported.sum()),
        "stations_missing": stations_missing,
        "per_stratum": per_stratum,
        "strata_not_estimated": missing,
        "records": int(interviews.data.height),
        "records_used": int(data.height),
        **{f"records_{s}": c for s, c in status_counts.items()},
        "approached": approached,
        "nonresponse_rate": 1.0 - n_ans / approached if approached > 0 else None,
        "excluded": [str(pb) for pb in excluded],
        "excluded_stations": excluded_stations,
        "unknown_values": dict(interviews.unknown_values),
        "collapsed_strata": collapsed,
        "deff_weighting": float(n_ans * np.sum(w**2) / x_tot**2),
        "raking_sweeps": rake_iter,
        "df_design": float(p_n - n_strata),
        "df_satterthwaite": dict(zip(interviews.choices, satt.tolist(), strict=True)),
        "rules": {
            "unknown_choice": "kept out of the shares, counted as non-response",
            "station_outside_sample": "records kept out and listed",
            "nonreporting_station": "weight moved to reporting stations of its stratum",
            "empty_band": "approached voters moved to the station's other bands",
            "singleton_stratum": singleton,
            "missing_stratum": missing_strata,
            "fpc": fpc,
            "approached": "interviewers' tally" if tally is not None else NO_TALLY,
        },
    }
    return ExitPollResult(
        choices=interviews.choices,
        estimate=p,
        cov=cov,
        df=float(p_n - n_strata)
        if df_method == "design" or not np.isfinite(satt).any()
        else float(np.nanmin(satt)),
        method=method,
        nobs=n_ans,
        n_psu=p_n,
        n_strata=n_strata,
        deff=deff,
        extra=extra,
        stations_sampled=int(des.sampled.sum()),
        stations_reported=int(reported.sum()),
        stations_missing=tuple(stations_missing),
        strata=tuple(
            StratumStatus(
                stratum=strata_names[i],
                population=int(des.stratum_size[i]),
                sampled=int(n_h[i]),
                reported=int(r_h[i]),
                missing=int(n_h[i] - r_h[i]),
                collapsed_into=dict(collapsed).get(strata_names[i]),
            )
            for i in range(len(strata_names))
            if n_h[i] > 0
        ),
        excluded=tuple(str(pb) for pb in excluded),
        nonresponse_rate=extra["nonresponse_rate"],
        rules={k: str(v) for k, v in extra["rules"].items()},
        _reports=reports,
    )


def _collapse_singletons(
    psu_h: IntArray, used: list[int], names: list[str], rule: str
) -> tuple[IntArray, list[tuple[str, str]]]:
    """Merge strata with one reporting station (:func:`variance.collapse_singletons`)."""
    counts = {names[h]: int((psu_h == h).sum()) for h in used}
    moved = collapse_singletons(counts, rule)
    if not moved:
        return psu_h, []
    code = {n: i for i, n in enumerate(names)}
    out = psu_h.copy()
    for lone, target in moved.items():
        out[psu_h == code[lone]] = code[target]
    merged = sorted(moved.items())
    warnings.warn(
        "strata with one reporting station were merged with a neighbouring stratum: "
        + ", ".join(f"{a} -> {b}" for a, b in merged),
        SaylauWarning,
        stacklevel=3,
    )
    return out, merged


def estimate_by_stratum(
    interviews: Interviews,
    frame: Any,
    *,
    strata: str | Sequence[str] | None = None,
    sample: Any | None = None,
    sampled: Iterable[str] | None = None,
    **options: Any,
) -> dict[str, ExitPollResult]:
    """:func:`estimate_exitpoll` within each stratum (strata are independent samples).

    Every stratum is estimated from its own stations and records with the same rules; national
    raking margins do not apply within a stratum, so ``margins`` is refused here. A stratum
    whose stations did not report is left out (it appears in no key). Each estimate has
    df = its stations − 1.

    Examples
    --------
    >>> rows = pl.DataFrame({"station": ["1", "1", "2", "2", "3", "3", "4", "4"],
    ...                      "choice": ["A", "B", "A", "A", "B", "B", "A", "B"]})
    >>> frame = pl.DataFrame({"station": ["1", "2", "3", "4"], "stratum": ["x", "x", "y", "y"]})
    >>> res = estimate_by_stratum(interviews_from_frame(rows), frame)
    >>> {h: [round(float(p), 2) for p in e.estimate] for h, e in res.items()}
    {'x': [0.75, 0.25], 'y': [0.25, 0.75]}
    """
    if options.get("margins"):
        raise SaylauInputError(
            "raking margins are national; estimate strata without them",
            field="margins",
            expected="None",
            found="margins",
        )
    if sample is not None:
        table = _frame_of_draw(frame, sample)
        sampled, strata = list(sample.stations), "stratum"
    else:
        table = _frame_columns(frame)
    des = _design(table, None, strata)
    labels = pl.DataFrame({"station": des.station, "_h": des.stratum})
    by_label: dict[str, list[str]] = {}
    for st, lab in zip(des.station, des.stratum, strict=True):
        by_label.setdefault(lab, []).append(st)
    chosen = None if sampled is None else {str(x) for x in sampled}
    out: dict[str, ExitPollResult] = {}
    data = interviews.data.join(labels, on="station", how="left")
    for h in des.names:
        ids = by_label[h]
        sub_sampled = None if chosen is None else [s for s in ids if s in chosen]
        sub_frame = table.filter(pl.col("station").cast(pl.Utf8).is_in(ids))
        rows = data.filter(pl.col("_h") == h).drop("_h")
        if chosen is not None and not sub_sampled:
            continue
        if rows.filter(pl.col("status") == ANSWER).height == 0:
            continue
        sub = dataclasses.replace(interviews, data=rows, problems=(), unknown_values={})
        try:
            out[h] = estimate_exitpoll(
                sub, sub_frame, sampled=sub_sampled, strata=strata, **options
            )
        except DataFormatError as exc:
            if "single reporting station" not in exc.message:
                raise
            warnings.warn(
                f"stratum {h} has a single reporting station: no estimate for it",
                SaylauWarning,
                stacklevel=2,
            )
    return out
