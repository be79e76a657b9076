"""Quick count (parallel vote tabulation): national shares from a sample of station protocols.

Estimator
---------
Station *i* of stratum *h* reports votes ``y_ij`` per choice *j* (Against all included) and a
denominator ``x_i`` (``"valid"``: the votes for all choices; ``"cast"``: those plus invalid
ballots). Each share is the combined (stratified) ratio estimator (Cochran 1977, §6.11)

    R_j = Σ_i w_i y_ij / Σ_i w_i x_i,

with weights ``w_i = N_h / r_h`` for a stratified simple random sample (``N_h`` stations in
the frame, ``r_h`` of the sampled ones that reported usable protocols: stations not reported
are treated as missing at random within their stratum), or ``w_i = (1/pi_i) · a_g`` for PPS
with the non-response adjustment ``a_g = Σ_sampled x/pi / Σ_reported x/pi`` in each stratum,
``x`` the size measure of the draw (registered voters). Outside certainty stations ``x/pi`` is
the same for every sampled station of a stratum (``X_h / n_h``), so ``a_g = n_g / r_g``: the
reports are themselves a PPS sample of ``r_g`` stations (missing at random within the stratum),
the factor is fixed given ``r_g`` and the with-replacement variance over the reports below is
the textbook one (Hansen–Hurwitz; Särndal, Swensson & Wretman 1992, §15.6, response
homogeneity groups). The weighting by ``Σ 1/pi`` instead (an estimated number of stations)
made the factor random with a variance the formula leaves out: 90% coverage at a nominal 95%
with PPS and a fifth of the sample missing on Russia 2011 at 300 stations
(tests/results/survey_false_alarms.json).
Its covariance is the Taylor linearisation (Woodruff 1971; Wolter 2007, ch. 6): with
``u_ij = w_i (y_ij − R_j x_i) / X̂`` and ``X̂ = Σ w_i x_i``,

    Cov(R_j, R_l) = Σ_h (1 − f_h) r_h/(r_h − 1) Σ_{i∈h} (u_ij − ū_hj)(u_il − ū_hl),

the finite-population correction ``1 − f_h = 1 − r_h/N_h`` for SRS (none for PPS, the usual
with-replacement approximation; certainty stations add no variance). Intervals use the t
distribution with ``df = stations − strata``; for small shares the Wilson or logit interval of
:meth:`ShareEstimates.conf_int`. Turnout (ballots issued ÷ voters on the list) is the same
estimator with one "choice". The design effect reported per choice is the variance over that of
a simple random sample of the same number of ballots, ``p(1 − p) / Σ_i x_i``: the clustering
effect the planner needs.

Declared rules for bad input (each kept-out report is listed in ``excluded`` with its reason):
a report for a station not in the frame; not in the sample (when a sample is given); two
copies of one station with different figures (all copies out; identical copies: one kept); a
missing figure; zero in the denominator (no valid ballots). A stratum where nothing reported:
``empty="error"`` refuses to estimate, ``empty="collapse"`` merges it into the adjacent stratum
(the next label in sorted order that has reports; the previous one for the last). A stratum
with a single report: ``singleton="collapse"`` (the same merge, for the variance only) or
``"certainty"`` (it adds no variance: an understatement unless the stratum really has one
station).

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley. Ch. 6 (ratio estimators).
Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey Sampling*.
Springer. Ch. 15 (non-response, response homogeneity groups).
Woodruff, R. S. (1971). A simple method for approximating the variance of a complicated
estimate. *JASA* 66, 411–414.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. *Survey Methodology* 24, 193–201.
Estok, M., Nevitte, N. & Cowan, G. (2002). *The Quick Count and Election Observation*. NDI.

Examples
--------
>>> import polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> from saylau.survey.frame import SamplingFrame
>>> fr = SamplingFrame.from_frame(pl.DataFrame({
...     "station": [str(i) for i in range(8)], "registered": [1000] * 8,
...     "region": ["N"] * 4 + ["S"] * 4}))
>>> rep = ProtocolTable.from_frame(pl.DataFrame({
...     "station": ["0", "1", "4", "5"], "voters_on_list": [1000] * 4,
...     "issued": [600, 500, 700, 650], "invalid": [10, 10, 10, 10],
...     "valid": [590, 490, 690, 640], "A": [400, 300, 300, 320], "B": [150, 150, 350, 280],
...     "Против всех": [40, 40, 40, 40]}), profile="plain", choices=["A", "B", "Против всех"])
>>> qc = quick_count(rep, frame=fr, strata=["region"])
>>> [round(float(p), 4) for p in qc.shares.estimate]  # equal weights: 1320/2410, 930/2410...
[0.5477, 0.3859, 0.0664]
>>> qc.stations_reported, qc.shares.df
(4, 2.0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import EmptyInputError, UnknownNameError
from ..domain.checks import STATUS_FAILED, validate
from ..domain.table import ProtocolTable
from ..results import Result
from .estimates import IntervalMethod, ShareEstimates
from .frame import SamplingFrame, frame_from_table
from .sample import SampleDraw, is_take_all, take_all_report
from .variance import collapse_singletons, nonresponse_factor, stratified_cov, stratum_factor

__all__ = [
    "ExcludedReport",
    "ProgressPoint",
    "QuickCountProgress",
    "QuickCountResult",
    "StratumStatus",
    "quick_count",
    "quick_count_progress",
    "stratified_ratio",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Denominator = Literal["valid", "cast"]
EmptyRule = Literal["error", "collapse"]
SingletonRule = Literal["collapse", "certainty"]


# ====================================================================== result types
@dataclasses.dataclass(frozen=True)
class ExcludedReport:
    """A report kept out of the estimate, with the declared rule that kept it out.

    ``row`` is the report's 1-based position in the reports table (for rows the reader kept
    out, the file's spreadsheet row); ``detail`` says more where there is more to say.
    """

    station: str | None
    reason: str
    row: int | None = None
    detail: str | None = None


@dataclasses.dataclass(frozen=True)
class StratumStatus:
    """Where one stratum stands: stations in the frame, sampled, reported, merged into."""

    stratum: str
    population: int
    sampled: int | None
    reported: int
    missing: int | None
    collapsed_into: str | None = None
    variance_group: str | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class QuickCountResult(Result):
    """Estimated shares (and turnout) of a quick count, with what went into them.

    Parameters
    ----------
    shares : ShareEstimates
        One share per choice, Against all included, with the full covariance.
    turnout : ShareEstimates or None
        Ballots issued (or cast) ÷ voters on the list; ``None`` without those lines.
    denominator : {"valid", "cast"}
    stations_sampled : int or None
        Stations in the sample (``None`` when no sample was given).
    stations_reported : int
        Reports that entered the estimate.
    strata : tuple of StratumStatus
        Per stratum: population, sampled, reported, not yet reported, merges.
    excluded : tuple of ExcludedReport
        Reports kept out, each with its reason.
    rules : mapping
        The declared rules applied, in words.
    stratum_shares : mapping
        Per-stratum estimates (with ``by_stratum=True``).
    take_all : tuple of str
        The sample's take-all stations (certainty units: no variance, never re-weighted).
    warnings : tuple of str
        What makes the estimate or its interval doubtful, in words (e.g. a take-all station
        that has not reported: no other station can stand in for it).
    """

    shares: ShareEstimates
    turnout: ShareEstimates | None
    denominator: str
    stations_sampled: int | None
    stations_reported: int
    strata: tuple[StratumStatus, ...]
    excluded: tuple[ExcludedReport, ...]
    rules: Mapping[str, str]
    stratum_shares: Mapping[str, ShareEstimates] = dataclasses.field(default_factory=dict)
    take_all: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def table(self, alpha: float = 0.05, method: IntervalMethod = "wald") -> list[dict[str, Any]]:
        """One JSON-ready row per choice: estimate, std_err, ci_low, ci_high, deff."""
        rows = self.shares.table(alpha, method)
        if self.shares.deff is not None:
            for row, d in zip(rows, self.shares.deff, strict=True):
                row["deff"] = float(d)
        return rows

    def not_reported(self) -> dict[str, int]:
        """Sampled stations not (usably) reported, per stratum (empty without a sample)."""
        return {s.stratum: s.missing for s in self.strata if s.missing}


# ====================================================================== core formulas
def stratified_ratio(
    y: npt.ArrayLike,
    x: npt.ArrayLike,
    weights: npt.ArrayLike,
    groups: npt.ArrayLike,
    factor: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Combined ratio estimates and their linearised covariance.

    Parameters
    ----------
    y : array_like, shape (n, k)
        Numerators per unit (votes per choice).
    x : array_like, shape (n,)
        Denominators per unit.
    weights : array_like, shape (n,)
        Estimation weights.
    groups : array_like of int, shape (n,)
        Variance stratum of each unit, coded 0..G−1.
    factor : array_like, shape (G,)
        Per variance stratum ``(1 − f_h) n_h / (n_h − 1)`` (0 for certainty groups).

    Returns
    -------
    (R, cov) : ndarray (k,), ndarray (k, k)

    Examples
    --------
    >>> r, c = stratified_ratio([[1.0], [3.0]], [2.0, 4.0], [1.0, 1.0], [0, 0], [2.0])
    >>> float(r[0]), bool(c[0, 0] > 0)
    (0.6666666666666666, True)
    """
    yy = np.asarray(y, dtype=float)
    if yy.ndim == 1:
        yy = yy[:, None]
    xx = np.asarray(x, dtype=float)
    w = np.asarray(weights, dtype=float)
    x_hat = float(w @ xx)
    r = (w @ yy) / x_hat
    u = w[:, None] * (yy - xx[:, None] * r[None, :]) / x_hat
    cov, _ = stratified_cov(u, np.asarray(groups, dtype=np.intp), factor)
    return r, cov


# ====================================================================== inputs
def _denominator(table: ProtocolTable, votes: FloatArray, which: str) -> FloatArray:
    total: FloatArray = votes.sum(axis=1)
    if which == "valid":
        return total
    if which == "cast":
        if "invalid" not in table:
            raise UnknownNameError(
                "denominator 'cast' needs the invalid-ballots line",
                file=table.source,
                field="invalid",
            )
        out: FloatArray = total + table.line("invalid", fill=0).astype(float)
        return out
    raise UnknownNameError(
        "unknown denominator", field="denominator", expected="valid | cast", found=which
    )


def _adjacent(labels: Sequence[str], ok: Sequence[str], label: str) -> str | None:
    """The next label in sorted order that is in ``ok`` (the previous one for the last)."""
    order = sorted(labels)
    pos = order.index(label)
    for cand in order[pos + 1 :]:
        if cand in ok:
            return cand
    for cand in reversed(order[:pos]):
        if cand in ok:
            return cand
    return None


@dataclasses.dataclass
class _Design:
    """Resolved design of the reported stations (internal)."""

    keep: npt.NDArray[np.bool_]
    stratum: npt.NDArray[np.object_]
    base_weight: FloatArray
    certain: npt.NDArray[np.bool_]
    population: dict[str, int]
    sampled: dict[str, int] | None
    sample_weight_sum: dict[str, float] | None
    excluded: list[ExcludedReport]
    pps: bool
    ids: npt.NDArray[np.object_]
    #: every sampled station (with a sample): id, stratum, design weight 1/π, certainty
    sampled_ids: tuple[str, ...] = ()
    sampled_stratum: tuple[str, ...] = ()
    sampled_weight: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))
    sampled_certain: npt.NDArray[np.bool_] = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=bool)
    )
    #: the PPS size measure of every sampled station (the frame's registered voters, at least 1)
    sampled_size: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))
    #: Satterthwaite df per choice of the last fit (variance.stratified_cov)
    satterthwaite: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _resolve(
    reports: ProtocolTable,
    frame: SamplingFrame,
    sample: SampleDraw | None,
    strata: Sequence[str] | None,
    denominator: FloatArray,
    votes: FloatArray,
    check_copies: bool = True,
) -> _Design:
    excluded = [
        ExcludedReport(p.station, p.message, p.row, f"{p.field}: found {p.found}")
        for p in reports.rejected
    ]
    ids = reports.frame.get_column("station").cast(pl.Utf8).fill_null("").to_numpy()
    n = len(ids)
    keep = np.ones(n, dtype=bool)
    # duplicates: identical copies -> keep the first; different figures -> all out
    dup = reports.frame.get_column("station").cast(pl.Utf8).is_duplicated().to_numpy()
    if dup.any():
        data = reports.frame.drop([c for c in reports.levels if c in reports.frame.columns])
        seen: dict[str, list[int]] = {}
        for i in np.flatnonzero(dup):
            seen.setdefault(str(ids[i]), []).append(int(i))
        for sid, rows in seen.items():
            distinct = data[rows].unique().height
            for j, row in enumerate(rows):
                if distinct == 1 and j == 0:
                    continue
                keep[row] = False
                excluded.append(
                    ExcludedReport(
                        sid,
                        "duplicate report, identical copy (first kept)"
                        if distinct == 1
                        else "two or more different reports for one station (all kept out)",
                        row + 1,
                    )
                )
    # copies that fail a strict control relation of their profile (domain.checks.validate)
    if check_copies:
        report = validate(reports)
        status = report.status_frame().get_column("status").to_numpy()
        why: dict[str, str] = {}
        for v in report.violations:
            if v.strict:
                why.setdefault(
                    v.station,
                    f"{v.relation}: {v.description} (found {v.found}, expected {v.expected})",
                )
        for i in np.flatnonzero((status == STATUS_FAILED) & keep):
            keep[i] = False
            excluded.append(
                ExcludedReport(
                    str(ids[i]),
                    "copy fails a strict control relation of its protocol (kept out)",
                    int(i) + 1,
                    why.get(str(ids[i])),
                )
            )
    # missing figures
    choice_null = reports.frame.select(
        pl.any_horizontal([pl.col(c.id).is_null() for c in reports.choices])
    ).to_series()
    for i in np.flatnonzero(choice_null.to_numpy() & keep):
        keep[i] = False
        excluded.append(ExcludedReport(str(ids[i]), "missing vote figure", int(i) + 1))

    # position of each report's station in the frame (null: not in the frame), by a join
    located = (
        pl.DataFrame({"station": pl.Series(ids.astype(str), dtype=pl.Utf8)})
        .with_row_index("__pos")
        .join(
            frame.frame.select(pl.col("station").cast(pl.Utf8)).with_row_index("__f"),
            on="station",
            how="left",
        )
        .sort("__pos")
        .get_column("__f")
    )
    in_frame = located.is_not_null().to_numpy()
    fpos = located.fill_null(0).to_numpy().astype(np.intp)
    for i in np.flatnonzero(~in_frame & keep):
        keep[i] = False
        excluded.append(
            ExcludedReport(str(ids[i]), "station not in the sampling frame", int(i) + 1)
        )

    stratum = np.full(n, "", dtype=object)
    base = np.zeros(n)
    certain = np.zeros(n, dtype=bool)
    pps = False
    if sample is not None:
        spos = {s: k for k, s in enumerate(sample.stations)}
        for i in np.flatnonzero(keep):
            k = spos.get(str(ids[i]))
            if k is None:
                keep[i] = False
                excluded.append(
                    ExcludedReport(str(ids[i]), "station not in the sample", int(i) + 1)
                )
                continue
            stratum[i] = sample.stratum[k]
            base[i] = 1.0 / sample.prob[k]
            certain[i] = bool(sample.certainty[k]) and (
                sample.method == "pps" or is_take_all(sample.stratum[k])
            )
        population = dict(sample.population)
        sampled = dict(sample.allocated)
        wsum: dict[str, float] | None = {}
        assert wsum is not None
        for h, p in zip(sample.stratum, sample.prob, strict=True):
            wsum[h] = wsum.get(h, 0.0) + 1.0 / p
        pps = sample.method == "pps"
    else:
        labels = frame.stratum_labels(list(strata or ())).astype(str)
        counted = pl.Series("h", labels, dtype=pl.Utf8).value_counts()
        population = {str(h): int(c) for h, c in counted.iter_rows()}
        stratum[keep] = labels[fpos[keep]]
        sampled = None
        wsum = None
    zero = (denominator <= 0) & keep
    for i in np.flatnonzero(zero):
        keep[i] = False
        excluded.append(
            ExcludedReport(str(ids[i]), "zero valid ballots (no denominator)", int(i) + 1)
        )
    if sample is None:
        counts: dict[str, int] = {}
        for h in stratum[keep].tolist():
            counts[h] = counts.get(h, 0) + 1
        for i in np.flatnonzero(keep):
            base[i] = population[stratum[i]] / counts[stratum[i]]
    if sample is None:
        return _Design(keep, stratum, base, certain, population, sampled, wsum, excluded, pps, ids)
    return _Design(
        keep,
        stratum,
        base,
        certain,
        population,
        sampled,
        wsum,
        excluded,
        pps,
        ids,
        tuple(sample.stations),
        tuple(sample.stratum),
        1.0 / np.asarray(sample.prob, dtype=float),
        np.asarray(sample.certainty, dtype=bool)
        & (pps | np.array([is_take_all(h) for h in sample.stratum], dtype=bool)),
        _sizes(frame, sample.stations) if pps else np.ones(len(sample.stations)),
    )


def _sizes(frame: SamplingFrame, stations: Sequence[str]) -> FloatArray:
    """The PPS size measure of ``stations`` as the draw used it (registered voters, at least 1)."""
    got = (
        pl.DataFrame({"station": pl.Series(list(stations), dtype=pl.Utf8)})
        .join(
            frame.frame.select(
                pl.col("station").cast(pl.Utf8), pl.col("registered").cast(pl.Float64)
            ),
            on="station",
            how="left",
            maintain_order="left",
        )
        .get_column("registered")
        .fill_null(1.0)
        .to_numpy()
    )
    out: FloatArray = np.maximum(got.astype(float), 1.0)
    return out


def _fit(
    y: FloatArray,
    x: FloatArray,
    design: _Design,
    *,
    empty: str,
    singleton: str,
) -> tuple[
    FloatArray,
    FloatArray,
    FloatArray,
    npt.NDArray[np.object_],
    int,
    int,
    list[StratumStatus],
    dict[str, str],
]:
    """Weights, merges and the estimate for numerators ``y`` over ``x`` of kept stations."""
    keep = design.keep
    st = design.stratum[keep].astype(str)
    labels = sorted(design.population)
    reported: dict[str, int] = dict.fromkeys(labels, 0)
    for h in st.tolist():
        reported[h] += 1
    with_reports = [h for h in labels if reported[h] > 0]
    if not with_reports:
        raise EmptyInputError(
            "no usable report: nothing to estimate",
            expected="at least one report of a sampled station",
            found=f"{len(design.excluded)} reports kept out",
        )
    merged: dict[str, str] = {}
    empty_strata = [h for h in labels if reported[h] == 0 and design.population[h] > 0]
    if empty_strata and empty == "error":
        raise EmptyInputError(
            f"{len(empty_strata)} strata have no report; estimating them would be a guess "
            "(rule empty='collapse', CLI --empty collapse, merges them into adjacent strata)",
            field="stratum",
            expected="at least one report per stratum",
            found=", ".join(empty_strata[:5]) + (" ..." if len(empty_strata) > 5 else ""),
        )
    if empty not in ("error", "collapse"):
        raise UnknownNameError(
            "unknown empty-stratum rule", field="empty", expected="error | collapse", found=empty
        )
    for h in empty_strata:
        target = _adjacent(labels, with_reports, h)
        assert target is not None
        merged[h] = target
    group_of = {h: merged.get(h, h) for h in labels}
    gnames = sorted(set(group_of.values()))
    gcode = {g_: i for i, g_ in enumerate(gnames)}
    pop_g: dict[str, int] = dict.fromkeys(gnames, 0)
    for h in labels:
        pop_g[group_of[h]] += design.population[h]
    # weighting: the non-response factor a_g within (merged) weighting groups (variance.py)
    d = design.base_weight[keep].copy()
    wg = np.array([group_of[h] for h in st.tolist()], dtype=object)
    wcode = np.array([gcode[g_] for g_ in wg.tolist()], dtype=np.intp)
    cert = design.certain[keep]
    kept_ids = {str(i) for i in design.ids[keep].tolist()}
    if design.sample_weight_sum is not None:
        s_code = np.array(
            [gcode[group_of[h]] for h in design.sampled_stratum], dtype=np.intp
        ).reshape(-1)
        s_rep = np.array([sid in kept_ids for sid in design.sampled_ids], dtype=bool)
        # strata of the frame that had no sampled station at all: their stations count
        extra = np.zeros(len(gnames))
        for h in labels:
            if h not in design.sample_weight_sum:
                extra[gcode[group_of[h]]] += float(design.population[h])
        sampled_w = np.bincount(s_code, weights=design.sampled_weight, minlength=len(gnames))
        # the reports carry the group's sampled weight Σ d (SRS: the count n_g / r_g); under
        # PPS its sampled size Σ d·x (x the size measure), which is the known X_g itself when
        # nothing is missing: the reports are then a PPS sample of r_g stations and the factor
        # is fixed given r_g (module docstring)
        dm = design.sampled_weight * (design.sampled_size if design.pps else 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            grow = np.where(sampled_w > 0, (sampled_w + extra) / sampled_w, 1.0)
        a = grow * nonresponse_factor(dm, s_code, s_rep, len(gnames))
        # (a take-all stratum is its own weighting group: a missing take-all station is
        # represented by the other take-all stations of its region alone, and the result warns)
        w = d * a[wcode]
    else:
        rep_n = np.bincount(wcode, minlength=len(gnames)).astype(float)
        w = np.array([pop_g[g_] for g_ in gnames], dtype=float)[wcode] / rep_n[wcode]
    # variance groups: weighting groups, singletons merged (or made certainty)
    rep_v: dict[str, int] = {}
    for g_, c in zip(wg.tolist(), cert.tolist(), strict=True):
        if not c:
            rep_v[g_] = rep_v.get(g_, 0) + 1
    if singleton not in ("collapse", "certainty"):
        raise UnknownNameError(
            "unknown single-station rule",
            field="singleton",
            expected="collapse | certainty",
            found=singleton,
        )
    lone = [g_ for g_ in sorted(rep_v) if rep_v[g_] == 1 and pop_g[g_] > 1]
    # with a single variance group nothing can be merged: its lone report adds no variance
    moved = collapse_singletons(rep_v, singleton, population=pop_g) if len(rep_v) > 1 else {}
    var_of = {g_: moved.get(g_, g_) for g_ in gnames}
    zero_var = {g_ for g_ in lone if g_ not in moved}
    # the estimate, then its linearised variables (variance.py)
    yk, xk = y[keep], x[keep]
    x_hat = float(w @ xk)
    est = (w @ yk) / x_hat
    resid = yk - xk[:, None] * est[None, :]
    u = w[:, None] * resid / x_hat
    zrows = u[~cert]
    vrow = [var_of[g_] for g_ in wg[~cert].tolist()]
    vnames = sorted(set(vrow))
    vcode = np.array([vnames.index(v) for v in vrow], dtype=np.intp)
    vpop: dict[str, int] = {}
    for g_, v in var_of.items():
        vpop[v] = vpop.get(v, 0) + pop_g[g_]
    counts = np.bincount(vcode, minlength=len(vnames))
    factor = stratum_factor(
        counts, None if design.pps else np.array([vpop[v] for v in vnames], dtype=float)
    )
    for k, v in enumerate(vnames):
        if v in zero_var:
            factor[k] = 0.0
    cov, satt = stratified_cov(zrows, vcode, factor)
    design.satterthwaite = satt
    n_var = int((factor > 0).sum())
    n_psu = int((~cert).sum())
    status = [
        StratumStatus(
            stratum=h,
            population=design.population[h],
            sampled=None if design.sampled is None else design.sampled.get(h, 0),
            reported=reported[h],
            missing=None if design.sampled is None else design.sampled.get(h, 0) - reported[h],
            collapsed_into=merged.get(h),
            variance_group=None
            if var_of.get(group_of[h], group_of[h]) == h
            else var_of.get(group_of[h], group_of[h]),
        )
        for h in labels
    ]
    rules = {h: f"merged into {t} (no report)" for h, t in merged.items()}
    rules.update(
        {
            g_: f"single report: variance with {var_of[g_]}"
            if g_ not in zero_var
            else "single report: treated as certainty (no variance)"
            for g_ in lone
        }
    )
    return est, cov, w, wg, n_psu, n_var, status, rules


def quick_count(
    reports: ProtocolTable,
    *,
    frame: SamplingFrame | ProtocolTable,
    sample: SampleDraw | None = None,
    strata: Sequence[str] | None = None,
    denominator: Denominator = "valid",
    empty: EmptyRule = "error",
    singleton: SingletonRule = "collapse",
    by_stratum: bool = False,
    check_copies: bool = True,
) -> QuickCountResult:
    """Estimate every choice's national share (and turnout) from the reports of a quick count.

    Parameters
    ----------
    reports : ProtocolTable
        Protocols copied by observers, one row per station (``station`` = the frame's id).
    frame : SamplingFrame or ProtocolTable
        The frame the sample was drawn from (a results table is turned into one).
    sample : SampleDraw, optional
        The draw. Without it, every reported station of the frame counts as sampled by
        stratified SRS within ``strata``; reports outside the sample cannot be detected then.
    strata : sequence of str, optional
        Frame columns defining the strata when no ``sample`` is given (default: none).
    denominator : {"valid", "cast"}
        Shares of the votes for all choices (Against all included), or of all ballots found.
    empty : {"error", "collapse"}
        Rule for strata with no report (see the module docstring).
    singleton : {"collapse", "certainty"}
        Rule for strata with one report.
    by_stratum : bool
        Also estimate the shares within each stratum (weighting group) with two or more
        reports, for comparisons stratum by stratum.
    check_copies : bool
        Check every copy against the strict control relations of its profile
        (:func:`saylau.domain.checks.validate`) and keep out, listed, those that fail
        (default). An empty cell is a missing figure (the copy is kept out), never a zero.

    Returns
    -------
    QuickCountResult

    Raises
    ------
    EmptyInputError
        No usable report, or a stratum without reports under ``empty="error"``.
    """
    fr = frame if isinstance(frame, SamplingFrame) else frame_from_table(frame, past=False)
    if reports.stations == 0 and not reports.rejected:
        raise EmptyInputError("no reports", file=reports.source, expected="at least one report")
    votes = reports.vote_matrix().astype(float)
    x = _denominator(reports, votes, denominator)
    design = _resolve(reports, fr, sample, strata, x, votes, check_copies)
    est, cov, w, wg, n_psu, n_var, status, merge_rules = _fit(
        votes, x, design, empty=empty, singleton=singleton
    )
    keep = design.keep
    choices = tuple(c.id for c in reports.choices)
    per_stratum: dict[str, ShareEstimates] = {}
    if by_stratum:
        pop_g: dict[str, int] = {}
        for st_ in status:
            g_ = st_.collapsed_into or st_.stratum
            pop_g[g_] = pop_g.get(g_, 0) + st_.population
        yk, xk = votes[keep], x[keep]
        for g_ in sorted(set(wg.tolist())):
            m = wg == g_
            r = int(m.sum())
            if r < 2:  # one report: no variance; listed so the comparison says "not tested"
                per_stratum[g_] = ShareEstimates(
                    choices=choices,
                    estimate=(w[m] @ yk[m]) / float(w[m] @ xk[m]),
                    cov=np.zeros((len(choices), len(choices))),
                    df=0.0,
                    method="a single report: no variance",
                    nobs=r,
                    n_psu=r,
                    n_strata=1,
                )
                continue
            fpc = 1.0 if design.pps else max(1.0 - r / pop_g[g_], 0.0)
            e_g, c_g = stratified_ratio(
                yk[m], xk[m], w[m], np.zeros(r, dtype=np.intp), [fpc * r / (r - 1)]
            )
            per_stratum[g_] = ShareEstimates(
                choices=choices,
                estimate=e_g,
                cov=c_g,
                df=float(r - 1),
                method="ratio estimator within the stratum, Taylor linearisation",
                nobs=r,
                n_psu=r,
                n_strata=1,
            )
    ballots = float(x[keep].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.diag(cov) / (est * (1 - est) / ballots)
    df = float(max(n_psu - n_var, 1))
    design_name = "stratified PPS (systematic)" if design.pps else "stratified SRS"
    shares = ShareEstimates(
        choices=choices,
        estimate=est,
        cov=cov,
        df=df,
        method=f"combined ratio estimator, {design_name}, Taylor linearisation"
        + (", with FPC" if not design.pps else ", with-replacement approximation"),
        nobs=int(keep.sum()),
        n_psu=n_psu,
        n_strata=n_var,
        deff=deff,
        extra={
            "denominator": denominator,
            "ballots_in_sample": ballots,
            "df_satterthwaite": dict(zip(choices, design.satterthwaite.tolist(), strict=True)),
        },
    )
    turnout = None
    if "voters_on_list" in reports:
        try:
            num = reports.issued().astype(float)
            what = "ballots issued"
        except UnknownNameError:
            num = reports.cast().astype(float)
            what = "ballots cast"
        reg = reports.registered().astype(float)
        tdesign = dataclasses.replace(design, keep=keep & (reg > 0))
        if tdesign.keep.any():
            t_est, t_cov, _, _, t_psu, t_var, _, _ = _fit(
                num[:, None], reg, tdesign, empty="collapse", singleton=singleton
            )
            turnout = ShareEstimates(
                choices=("turnout",),
                estimate=t_est,
                cov=t_cov,
                df=float(max(t_psu - t_var, 1)),
                method=f"{what} / voters on the list: combined ratio estimator, {design_name}",
                nobs=int(tdesign.keep.sum()),
                n_psu=t_psu,
                n_strata=t_var,
            )
    rules = {
        "not_in_frame": "kept out",
        "not_in_sample": "kept out" if sample is not None else "cannot be checked (no sample)",
        "conflicting_duplicates": "all copies kept out; identical copies: first kept",
        "zero_denominator": "kept out",
        "missing_figures": "kept out (an empty cell is missing, never zero)",
        "failing_copies": "kept out: a copy that fails a strict control relation of its profile"
        if check_copies
        else "not checked",
        "empty_stratum": empty,
        "single_report_stratum": singleton,
        "non_response": "missing at random within stratum (weights re-scaled per stratum)",
        **{f"stratum {k}": v for k, v in merge_rules.items()},
    }
    take_all: tuple[str, ...] = ()
    notes: list[str] = []
    if sample is not None:
        rules["take_all"] = (
            sample.take_all_rule + "; certainty units: no variance; a missing one is "
            "represented only by the other take-all stations of its region (a warning says so)"
        )
        take_all, notes = take_all_report(sample, {str(i) for i in design.ids[keep].tolist()})
    return QuickCountResult(
        shares=shares,
        turnout=turnout,
        denominator=denominator,
        stations_sampled=None if sample is None else len(sample.stations),
        stations_reported=int(keep.sum()),
        strata=tuple(status),
        excluded=tuple(design.excluded),
        rules=rules,
        stratum_shares=per_stratum,
        take_all=take_all,
        warnings=tuple(notes),
    )


from .progress import ProgressPoint, QuickCountProgress, quick_count_progress  # noqa: E402
