"""Independent estimate versus the official result: per choice, per stratum, jointly, per station.

An exit poll or a quick count is an *independent* measurement of the same shares the election
commission publishes. :func:`compare_with_official` lines them up:

* **per choice** (and per stratum): estimate, official share, difference, its t statistic
  :math:`(\\hat p_c - o_c) / \\widehat{se}_c` on the design degrees of freedom and the two-sided
  p-value;
* **nationally** (the alarm): by default the Bonferroni t of Korn & Graubard (1990), the
  largest of the choices' t statistics, each on its own Satterthwaite df, times the number of
  choices (choices under 1% pooled). It holds the false-alarm rate on resampled real
  elections where the Wald F below did not (``FALSE_ALARM_RATE``, :data:`CALIBRATION`). A
  test the reports cannot carry (one report, no variance) is "not tested", never p = 0;
* **per stratum**: Holm over the strata tested; the re-drawn test of
  :mod:`saylau.survey.nulltest` where the official results give every station (a calibrated
  alarm), else the Bonferroni t on the stratum's own df (a screen, never an alarm);
* **jointly** (``test="wald"``): the Wald statistic
  :math:`W = (\\hat p - o)^\\top \\hat V^{+} (\\hat p - o)` with :math:`\\hat V^{+}` the
  Moore–Penrose generalised inverse of the full covariance. Shares sum to one, so
  :math:`\\hat V` is singular (its rows sum to zero) and its rank is q = k − 1 for a full
  design; the generalised inverse gives exactly the statistic obtained by dropping any one
  choice (a test checks this). With design df *d* the statistic is referred to
  :math:`F = W (d - q + 1) / (d q) \\sim F(q, d - q + 1)` (Korn & Graubard, 1990), else to
  :math:`\\chi^2_q`; both p-values are reported;
* **per station**: for a quick count, the observer's copy of a protocol and the official figure
  of that station must be *equal*: every difference is listed as a finding, not as sampling
  error. For an exit poll, the interview counts of a station are tested against the station's
  official shares (Pearson :math:`\\chi^2`, Bonferroni over stations);
* **differential non-response** (part of the result): the p-values assume that, within a
  station and time band, voters of every choice refuse equally often. The result states how
  unequal refusals would have to be for the official figure to be right: if supporters of *c*
  answer :math:`\\lambda` times as often as other voters, an honest official share :math:`o_c`
  appears in the poll with odds :math:`\\lambda\\, o_c / (1 - o_c)`, so the gap is explained by
  :math:`\\lambda_c = [\\hat p_c / (1 - \\hat p_c)] / [o_c / (1 - o_c)]`. With an overall
  refusal rate *R*, the response rates are :math:`r_0 = (1 - R) / (\\lambda o_c + 1 - o_c)` for
  the others and :math:`\\lambda r_0` for supporters of *c*, i.e. refusal rates
  :math:`1 - \\lambda r_0` and :math:`1 - r_0` (the 2004 US exit polls, whose error was traced to
  such a difference, had :math:`\\lambda \\approx 1.1`; Edison/Mitofsky, 2005).

References
----------
Korn, E. L. & Graubard, B. I. (1990). Simultaneous testing of regression coefficients with
complex survey data: use of Bonferroni t statistics. *The American Statistician* 44(4), 270-276.
Edison Media Research & Mitofsky International (2005). *Evaluation of Edison/Mitofsky Election
System 2004*.
Thomas, D. R. & Rao, J. N. K. (1987). Small-sample comparisons of level and power for simple
goodness-of-fit statistics under cluster sampling. *JASA* 82, 630-636.
Rao, J. N. K. & Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with
cell proportions estimated from survey data. *Ann. Statist.* 12, 46-60.

Examples
--------
>>> import numpy as np
>>> from saylau.survey.estimates import ShareEstimates
>>> cov = 1e-4 * np.array([[1.0, -1.0], [-1.0, 1.0]])
>>> est = ShareEstimates(choices=("A", "B"), estimate=np.array([0.52, 0.48]), cov=cov,
...                      df=None, method="example", nobs=1000, n_psu=100, n_strata=1)
>>> res = compare_with_official(est, {"A": 5200, "B": 4800})
>>> bool(res.flagged)
False
>>> res = compare_with_official(est, {"A": 0.60, "B": 0.40})
>>> round(res.rows[0].statistic, 1), bool(res.flagged)
(-8.0, True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._exceptions import DataFormatError, UnknownNameError
from ..domain.choices import is_against_all, normalize_name
from ..results import Finding, Result
from .estimates import ShareEstimates
from .rates import CALIBRATION, FALSE_ALARM_RATE, NO_TALLY_FALSE_ALARM, no_tally_is_screen
from .sensitivity import NonResponseSensitivity, _caveat, _sensitivity

__all__ = [
    "CALIBRATION",
    "FALSE_ALARM_RATE",
    "NO_TALLY_FALSE_ALARM",
    "ChoiceComparison",
    "ComparisonResult",
    "JointTest",
    "NonResponseSensitivity",
    "StationFinding",
    "compare_with_official",
    "holm",
    "no_tally_is_screen",
    "official_shares",
    "redrawn_test",
]

FloatArray = npt.NDArray[np.float64]

#: Per stratum, choices under this official share are pooled (see ``_stratum_test``).
STRATUM_POOL = 0.05

#: A stratum tested on its own variance (Bonferroni t) needs this many reports: with two or
#: three stations a choice's variance is often near zero by chance and the t statistic
#: explodes (measured: exit polls of 300 stations in 91 strata of Russia 2004 raised a
#: per-stratum alarm in half the honest replications even after Holm).
MIN_STRATUM_REPORTS = 5


@dataclasses.dataclass(frozen=True)
class ChoiceComparison(Result):
    """One choice (in one stratum): independent estimate against the official share."""

    choice: str
    stratum: str | None
    estimate: float
    std_err: float
    official: float
    difference: float
    statistic: float
    pvalue: float
    df: float | None
    ci_low: float
    ci_high: float


@dataclasses.dataclass(frozen=True)
class JointTest(Result):
    """Wald test that all shares equal the official ones (generalised inverse, rank ``df_num``).

    ``pooled`` lists the choices whose official share is below ``pool_below``: the test
    treats them as one category, because Wald tests with the estimated covariance of rare
    categories reject too often (Thomas & Rao, 1987); on Poland 2020 exit polls simulated from
    the real precinct results, pooling the five candidates under 1% brought the false-alarm
    rate at α = 0.05 from 0.095 to 0.055 (200 polls; tests/survey/test_exitpoll_realdata.py).
    ``excluded`` lists choices with no sampling variance (no sampled voter or station named
    them, or every report gave them the same share): they are left out and the official shares
    renormalised over the other choices, never divided by a zero variance.

    ``tested`` is false, with the ``reason``, where the reports cannot carry a test: fewer
    than two reports, or a covariance that cannot hold the official figure's difference. With
    fewer design degrees of freedom than compared choices (``df < q``) the Wald statistic's
    covariance is singular; the test is then the Bonferroni t of Korn & Graubard (1990) over
    the choices, each on the design df, and ``method`` says so. ``pvalue`` is NaN when not
    tested (and never an alarm).
    """

    statistic: float
    df_num: int
    f_statistic: float | None
    df_den: float | None
    pvalue: float
    pvalue_chi2: float
    method: str
    excluded: tuple[str, ...] = ()
    pooled: tuple[str, ...] = ()
    tested: bool = True
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class StationFinding(Result):
    """A sampled station where the observer's figure and the official one disagree."""

    station: str
    choice: str | None
    observed: float
    official: float
    difference: float
    pvalue: float | None
    kind: str


@dataclasses.dataclass(frozen=True)
class ComparisonResult(Result):
    """Independent estimate versus official result (see :func:`compare_with_official`).

    Parameters
    ----------
    rows : tuple of ChoiceComparison
        National rows, one per choice.
    joint : JointTest
        Joint Wald test over all choices.
    strata : tuple of ChoiceComparison
        Rows per stratum (when ``by_stratum`` was given).
    strata_joint : mapping of str to JointTest
        Joint test per stratum.
    stations : tuple of StationFinding
        Per-station disagreements (every one a finding for protocol copies).
    stations_compared : int
        Sampled stations with both figures.
    nonresponse : tuple of NonResponseSensitivity
        Differential non-response sensitivity per choice (most extreme gap first).
    nonresponse_rate : float or None
        Overall refusal / non-response rate of the poll, when known.
    caveat : str
        The differential non-response caveat in words, with the numbers of this comparison.
    flagged : bool
        An alarm is raised: national, per stratum after Holm, or a validated copy differs.
    alpha : float
    method : str
    finding : Finding
        The national joint test as an alarm: level, correction, the false-alarm rate measured
        on resampled real elections, caveats.
    strata_finding : Finding or None
        The per-stratum tests (Bonferroni t on each stratum's own df, Holm over the strata
        tested), with how many strata were tested and how many could not be.
    stations_finding : Finding or None
        Observer copies against official protocols (a discrepancy of fact, not a sampling
        test).
    strata_adjusted : mapping
        Holm-adjusted p-value per stratum tested.
    strata_untested : mapping
        Strata that could not be tested, with the reason (e.g. a single report).
    stations_not_compared : mapping
        Station cells left out of the copy comparison (empty cells are missing, not zero).
    """

    rows: tuple[ChoiceComparison, ...]
    joint: JointTest
    strata: tuple[ChoiceComparison, ...]
    strata_joint: Mapping[str, JointTest]
    stations: tuple[StationFinding, ...]
    stations_compared: int
    nonresponse: tuple[NonResponseSensitivity, ...]
    nonresponse_rate: float | None
    caveat: str
    flagged: bool
    alpha: float
    method: str
    finding: Finding | None = None
    strata_finding: Finding | None = None
    stations_finding: Finding | None = None
    strata_adjusted: Mapping[str, float] = dataclasses.field(default_factory=dict)
    strata_untested: Mapping[str, str] = dataclasses.field(default_factory=dict)
    stations_not_compared: Mapping[str, str] = dataclasses.field(default_factory=dict)


def official_shares(
    official: Mapping[str, float], choices: tuple[str, ...], *, source: str | None = None
) -> FloatArray:
    """Official figures (votes or shares) as shares over ``choices``, matched by name.

    Names match exactly, then after case folding and space normalisation; every spelling of
    Against all matches the Against-all choice. A choice missing on either side is an error.

    >>> official_shares({"a": 30, "против всех": 10}, ("A", "Against all")).tolist()
    [0.75, 0.25]
    """
    values = np.full(len(choices), np.nan)
    norm = {normalize_name(c): i for i, c in enumerate(choices)}
    against = next((i for i, c in enumerate(choices) if is_against_all(c)), None)
    unmatched = []
    for name, value in official.items():
        if name in choices:
            i: int | None = choices.index(name)
        elif normalize_name(name) in norm:
            i = norm[normalize_name(name)]
        elif against is not None and is_against_all(name):
            i = against
        else:
            i = None
        if i is None:
            unmatched.append(name)
            continue
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise DataFormatError(
                "official figure must be a number >= 0",
                file=source,
                field=name,
                expected=">= 0",
                found=value,
            )
        values[i] = v if np.isnan(values[i]) else values[i] + v
    if unmatched:
        raise UnknownNameError(
            "official result names a choice the estimate does not have",
            file=source,
            field="choice",
            expected=" | ".join(choices),
            found=unmatched[0],
        )
    if np.isnan(values).any():
        raise UnknownNameError(
            "official result lacks a choice of the estimate",
            file=source,
            field="choice",
            expected=choices[int(np.flatnonzero(np.isnan(values))[0])],
            found="missing",
        )
    total = values.sum()
    if total <= 0:
        raise DataFormatError(
            "official figures sum to zero", file=source, field="votes", expected="> 0", found=0
        )
    shares: FloatArray = values / total
    return shares


def _rows(
    est: ShareEstimates, off: FloatArray, stratum: str | None, alpha: float
) -> tuple[ChoiceComparison, ...]:
    se = est.std_err
    lo, hi = est.conf_int(alpha)
    diff = est.estimate - off
    out = []
    for i, c in enumerate(est.choices):
        # no sampling variance (nobody named it, or a single report): no test, never p = 0
        t = float(diff[i] / se[i]) if se[i] > 0 else math.nan
        if math.isnan(t):
            p = math.nan
        elif est.df is not None and est.df > 0:
            p = float(2 * stats.t.sf(abs(t), est.df))
        else:
            p = float(2 * stats.norm.sf(abs(t)))
        out.append(
            ChoiceComparison(
                choice=c,
                stratum=stratum,
                estimate=float(est.estimate[i]),
                std_err=float(se[i]),
                official=float(off[i]),
                difference=float(diff[i]),
                statistic=t,
                pvalue=p,
                df=est.df,
                ci_low=float(lo[i]),
                ci_high=float(hi[i]),
            )
        )
    return tuple(out)


def _choice_dfs(est: ShareEstimates) -> FloatArray:
    """Per-choice Satterthwaite df from ``extra["df_satterthwaite"]`` (else the design df)."""
    design = float(est.df) if est.df is not None else math.inf
    got = (est.extra or {}).get("df_satterthwaite") or {}
    out = np.array([float(got.get(c, design) or design) for c in est.choices], dtype=float)
    return np.where(np.isfinite(out) & (out > 0), np.minimum(out, design), design)


def _pool(est: ShareEstimates, off: FloatArray, small: npt.NDArray[np.bool_]) -> ShareEstimates:
    pool = np.vstack([np.eye(len(off))[~small], small.astype(float)[None, :]])
    names = tuple(c for c, sm in zip(est.choices, small, strict=True) if not sm)
    dfs = _choice_dfs(est)
    extra = dict(est.extra or {})
    extra["df_satterthwaite"] = {
        **{c: float(d) for c, d, sm in zip(est.choices, dfs, small, strict=True) if not sm},
        "other (pooled)": float(np.min(dfs[small])),
    }
    return dataclasses.replace(
        est,
        choices=(*names, "other (pooled)"),
        estimate=pool @ est.estimate,
        cov=pool @ est.cov @ pool.T,
        extra=extra,
    )


def _joint(
    est: ShareEstimates, off: FloatArray, pool_below: float = 0.0, test: str = "bonferroni-t"
) -> JointTest:
    p = np.asarray(est.estimate, dtype=float)
    v = np.asarray(est.cov, dtype=float)
    small = off < pool_below
    if small.sum() >= 2 and (~small).any():
        sub = _pool(est, off, small)
        pooled = tuple(c for c, sm in zip(est.choices, small, strict=True) if sm)
        pool = np.vstack([np.eye(len(off))[~small], small.astype(float)[None, :]])
        return dataclasses.replace(_joint(sub, pool @ off, 0.0, test), pooled=pooled)
    var = np.diag(v)
    scale = float(np.max(np.abs(var))) if v.size else 0.0
    unseen = var <= 1e-12 * scale if scale > 0 else np.ones(len(p), dtype=bool)
    excluded = tuple(c for c, u in zip(est.choices, unseen, strict=True) if u)
    if unseen.any() and (~unseen).sum() >= 2 and off[~unseen].sum() > 0:
        keep = ~unseen
        sub = dataclasses.replace(
            est,
            choices=tuple(c for c, k in zip(est.choices, keep, strict=True) if k),
            estimate=p[keep] / max(float(p[keep].sum()), 1e-300),
            cov=v[np.ix_(keep, keep)] / max(float(p[keep].sum()), 1e-300) ** 2,
        )
        return dataclasses.replace(
            _joint(sub, off[keep] / off[keep].sum(), 0.0, test), excluded=excluded
        )
    if unseen.all() or (~unseen).sum() < 2 or (est.df is not None and est.df < 1):
        return _untested(
            f"too few reports to test: {est.n_psu} station(s), design df "
            f"{est.df if est.df is not None else 'none'}, "
            f"{int((~unseen).sum())} choice(s) with sampling variance",
            excluded,
        )
    d = p - off
    q = len(p) - 1
    ddf = est.df
    if test == "bonferroni-t" or (ddf is not None and ddf < q):
        return _bonferroni_t(est, off, excluded, _choice_dfs(est))
    tol = 1e-10 * scale
    vinv = np.linalg.pinv(v, rcond=1e-10, hermitian=True)
    rank = int(np.linalg.matrix_rank(v, tol=tol, hermitian=True))
    outside = d - v @ (vinv @ d)  # part of the gap the covariance cannot produce
    if rank == 0 or float(np.max(np.abs(outside))) > 1e-9:
        if ddf is not None and ddf >= 1:
            return _bonferroni_t(est, off, excluded, _choice_dfs(est))
        return _untested(
            "the covariance of the reports cannot hold the official figure's difference "
            "(too few reports for the choices): not a sampling test",
            excluded,
        )
    w = float(d @ vinv @ d)
    p_chi2 = float(stats.chi2.sf(w, rank))
    if ddf is not None and ddf - rank + 1 > 0:
        den = ddf - rank + 1
        f = w * den / (ddf * rank)
        p_f = float(stats.f.sf(f, rank, den))
        return JointTest(
            statistic=w,
            df_num=rank,
            f_statistic=f,
            df_den=float(den),
            pvalue=p_f,
            pvalue_chi2=p_chi2,
            method="Wald, Moore-Penrose inverse of the covariance, F-adjusted "
            f"(Korn & Graubard 1990) on {ddf:g} df",
            excluded=excluded,
        )
    return JointTest(
        statistic=w,
        df_num=rank,
        f_statistic=None,
        df_den=None,
        pvalue=p_chi2,
        pvalue_chi2=p_chi2,
        method="Wald, Moore-Penrose inverse of the covariance, chi-squared reference",
        excluded=excluded,
    )


def redrawn_test(pvalue: float, choices: int, method: str) -> JointTest:
    """A per-stratum test whose p-value comes from samples re-drawn under the null
    (:mod:`saylau.survey.nulltest`): one Monte Carlo p over ``choices`` choices.

    >>> t = redrawn_test(0.012, 3, "re-drawn")
    >>> t.pvalue, t.tested
    (0.012, True)
    """
    return JointTest(
        statistic=math.nan,
        df_num=choices,
        f_statistic=None,
        df_den=None,
        pvalue=pvalue,
        pvalue_chi2=pvalue,
        method=method,
    )


def _untested(reason: str, excluded: tuple[str, ...] = ()) -> JointTest:
    return JointTest(
        statistic=math.nan,
        df_num=0,
        f_statistic=None,
        df_den=None,
        pvalue=math.nan,
        pvalue_chi2=math.nan,
        method="not tested",
        excluded=excluded,
        tested=False,
        reason=reason,
    )


def _bonferroni_t(
    est: ShareEstimates,
    off: FloatArray,
    excluded: tuple[str, ...],
    dfs: FloatArray | None = None,
) -> JointTest:
    """Bonferroni over the choices of t tests (Korn & Graubard 1990), each choice on its own
    Satterthwaite degrees of freedom when ``dfs`` is given (else the design df)."""
    se = est.std_err
    t = np.abs(est.estimate - off) / np.where(se > 0, se, np.inf)
    design = float(est.df) if est.df is not None else math.inf
    each = np.full(len(t), design) if dfs is None else np.asarray(dfs, dtype=float)
    p_each = np.array(
        [
            2 * (stats.t.sf(tt, d) if math.isfinite(d) else stats.norm.sf(tt))
            for tt, d in zip(t, each, strict=True)
        ]
    )
    k = len(t)
    p_min = float(min(1.0, k * float(np.min(p_each))))
    own = "its own Satterthwaite df" if dfs is not None else f"{design:g} df"
    return JointTest(
        statistic=float(np.max(t)),
        df_num=k,
        f_statistic=None,
        df_den=float(np.min(each)) if np.isfinite(each).any() else None,
        pvalue=p_min,
        pvalue_chi2=p_min,
        method=f"Bonferroni t over {k} choices, each on {own} (Korn & Graubard 1990)",
        excluded=excluded,
    )


def _stations(
    pairs: Mapping[str, tuple[Mapping[str, float | None], Mapping[str, float | None]]],
    choices: tuple[str, ...],
    mode: str,
    alpha: float,
) -> tuple[list[StationFinding], dict[str, str]]:
    findings: list[StationFinding] = []
    skipped: dict[str, str] = {}
    memo: dict[str, int | None] = {}
    for station, (observed, official) in sorted(pairs.items()):
        obs = _station_figures(observed, choices, station, memo)
        off = _station_figures(official, choices, station, memo)
        empty = [c for i, c in enumerate(choices) if np.isnan(obs[i]) or np.isnan(off[i])]
        if empty:
            skipped[str(station)] = "empty cell (missing, not zero): " + ", ".join(empty)
        if mode == "copies":
            for i, c in enumerate(choices):
                if np.isnan(obs[i]) or np.isnan(off[i]):
                    continue
                if obs[i] != off[i]:
                    findings.append(
                        StationFinding(
                            station=str(station),
                            choice=c,
                            observed=float(obs[i]),
                            official=float(off[i]),
                            difference=float(off[i] - obs[i]),
                            pvalue=None,
                            kind="protocol copy differs from the official figure",
                        )
                    )
            continue
        if empty:
            continue
        m = obs.sum()
        if m <= 0 or off.sum() <= 0:
            continue
        expected = m * off / off.sum()
        pos = expected > 0
        if (obs[~pos] > 0).any():
            p = 0.0
        else:
            chi2 = float(np.sum((obs[pos] - expected[pos]) ** 2 / expected[pos]))
            p = float(stats.chi2.sf(chi2, max(int(pos.sum()) - 1, 1)))
        if p < alpha / max(len(pairs), 1):
            i = int(np.argmax(np.abs(obs / m - off / off.sum())))
            findings.append(
                StationFinding(
                    station=str(station),
                    choice=choices[i],
                    observed=float(obs[i] / m),
                    official=float(off[i] / off.sum()),
                    difference=float(off[i] / off.sum() - obs[i] / m),
                    pvalue=p,
                    kind="interviews disagree with the station's official shares "
                    "(Pearson chi-squared, Bonferroni over stations)",
                )
            )
    return findings, skipped


def _station_figures(
    values: Mapping[str, float | None],
    choices: tuple[str, ...],
    station: str,
    memo: dict[str, int | None] | None = None,
) -> FloatArray:
    """Per-station figures in the order of ``choices``: a choice absent from the mapping
    counts 0 (interview answers); a ``None`` value (an empty cell) is missing (NaN)."""
    out = np.zeros(len(choices))
    memo = {} if memo is None else memo
    for name, v in values.items():
        if name not in memo:
            norm = {normalize_name(c): i for i, c in enumerate(choices)}
            against = next((i for i, c in enumerate(choices) if is_against_all(c)), None)
            i = norm.get(normalize_name(name))
            if i is None and against is not None and is_against_all(name):
                i = against
            memo[name] = i
        i = memo[name]
        if i is None:
            raise UnknownNameError(
                "per-station figure for an unknown choice",
                field=f"station {station}",
                expected=" | ".join(choices),
                found=name,
            )
        out[i] += math.nan if v is None else float(v)
    return out


def compare_with_official(
    est: ShareEstimates,
    official: Mapping[str, float] | Any,
    *,
    by_stratum: Mapping[str, tuple[ShareEstimates, Mapping[str, float]]] | None = None,
    station_pairs: Mapping[str, tuple[Mapping[str, float | None], Mapping[str, float | None]]]
    | None = None,
    station_mode: Literal["copies", "interviews"] = "copies",
    nonresponse_rate: float | None = None,
    pool_below: float = 0.01,
    alpha: float = 0.05,
    test: Literal["bonferroni-t", "wald"] = "bonferroni-t",
    strata_without_estimate: Mapping[str, str] | None = None,
    strata_tests: Mapping[str, JointTest] | None = None,
) -> ComparisonResult:
    """Compare an independent estimate (exit poll, quick count) with the official result.

    Parameters
    ----------
    est : ShareEstimates
        The independent estimate with its covariance.
    official : OfficialResults or mapping of str to float
        Official votes or shares per choice (normalised to shares over ``est.choices``).
    by_stratum : mapping, optional
        ``{stratum: (estimate of the stratum, official figures of the stratum)}``.
    station_pairs : mapping, optional
        ``{station: (observer's figures, official figures)}`` for sampled stations.
    station_mode : {"copies", "interviews"}
        ``"copies"``: the observer copied the protocol (quick count); any difference is a
        finding. ``"interviews"``: the observer's figures are interview counts, tested
        against the station's official shares.
    nonresponse_rate : float, optional
        Overall refusal rate of the poll for the sensitivity (default: ``est.extra``'s
        ``nonresponse_rate`` when present).
    pool_below : float
        In the national test, choices with an official share below this (two or more of
        them) are pooled into one category (see :class:`JointTest`; on Poland 2020 exit polls
        the Bonferroni t without pooling raised 11% false alarms, the five candidates under
        0.3% being too skewed for a t); 0 pools nothing. The rows per choice are not affected.
    alpha : float
        Level of the tests and intervals.
    test : {"bonferroni-t", "wald"}
        The national test. ``"bonferroni-t"`` (default): Bonferroni over the choices of t
        tests, each on its own Satterthwaite df (Korn & Graubard 1990, 1999 §5.2); it holds
        its false-alarm rate on resampled real elections where the Wald F on stations −
        strata df does not (0.043 against 0.095 at a nominal 0.05: 300 stations in 91 strata
        of Russia 2004, 400 exit polls; ``tests/results/survey_false_alarms.json``).
        ``"wald"``: the Wald F of :class:`JointTest`.
    strata_without_estimate : mapping, optional
        Strata with official figures but no estimate (too few reports), with the reason:
        listed as not tested.
    strata_tests : mapping, optional
        Per-stratum tests computed elsewhere (the re-drawing test of
        :mod:`saylau.survey.nulltest`), used instead of the Bonferroni t for those strata.

    Returns
    -------
    ComparisonResult

    Examples
    --------
    See the module docstring.
    """
    official = getattr(official, "totals", official)  # an OfficialResults or a mapping
    off = official_shares(official, est.choices)
    rows = _rows(est, off, None, alpha)
    joint = _joint(est, off, pool_below, test)
    strata_rows: list[ChoiceComparison] = []
    strata_joint: dict[str, JointTest] = {}
    for name, (sub, sub_off) in (by_stratum or {}).items():
        o = official_shares(sub_off, sub.choices)
        strata_rows.extend(_rows(sub, o, str(name), alpha))
        given = (strata_tests or {}).get(str(name))
        strata_joint[str(name)] = given if given is not None else _stratum_test(sub, o, pool_below)
    adjusted = holm({h: jt.pvalue for h, jt in strata_joint.items() if jt.tested})
    untested = {h: jt.reason for h, jt in strata_joint.items() if not jt.tested}
    untested.update(strata_without_estimate or {})
    n_strata = len(strata_joint) + len(strata_without_estimate or {})
    findings, skipped = _stations(station_pairs or {}, est.choices, station_mode, alpha)
    rate = nonresponse_rate
    if rate is None:
        got = est.extra.get("nonresponse_rate") if est.extra else None
        rate = float(got) if got is not None else None
    sens = _sensitivity(est, off, rate)
    top = sens[0] if sens else None
    interviews = bool(est.extra) and "nonresponse_rate" in est.extra
    caveat = _caveat(top, rate, interviews=interviews or nonresponse_rate is not None)
    kind_of = "exit poll" if interviews or station_mode == "interviews" else "quick count"
    national = Finding(
        alarm=bool(joint.tested and joint.pvalue < alpha),
        kind="test",
        level=alpha,
        pvalue=None if not joint.tested else joint.pvalue,
        correction="none (one national test)",
        false_alarm_rate=FALSE_ALARM_RATE.get((kind_of, "national")),
        calibration=CALIBRATION,
        caveats=(
            *(() if joint.tested else (f"not tested: {joint.reason}",)),
            "tests sampling error only: " + caveat,
        ),
    )
    strata_finding = None
    if by_stratum or strata_without_estimate:
        # only the re-drawn tests are calibrated on real regions; the Bonferroni t on a
        # region's own few stations is not (bimodal regions: 41% family-wise false alarms on
        # honest exit polls of Russia 2004), so without them the per-stratum part is a screen
        calibrated = {h for h in adjusted if h in (strata_tests or {})}
        strata_finding = Finding(
            alarm=any(adjusted[h] < alpha for h in calibrated),
            kind="test" if calibrated else "screen",
            level=alpha,
            pvalue=min(adjusted.values()) if adjusted else None,
            correction=f"Holm over {len(adjusted)} strata tested",
            false_alarm_rate=FALSE_ALARM_RATE.get((kind_of, "strata")) if calibrated else None,
            calibration=CALIBRATION,
            caveats=(
                f"{len(untested)} of {n_strata} strata not tested (too few reports)"
                if untested
                else f"all {n_strata} strata tested",
                "each stratum is tested on its own stations ("
                + (
                    "re-drawn from its official protocols"
                    if strata_tests
                    else "Bonferroni t over its choices of 5% or more, on its own df: a screen "
                    "that points where to look, not calibrated on real regions, never an alarm"
                )
                + "), so a stratum with few reports can show only large differences",
            ),
        )
    stations_finding = None
    if station_pairs:
        differ = station_mode == "copies" and bool(findings)
        stations_finding = Finding(
            alarm=differ if station_mode == "copies" else bool(findings),
            kind="test",
            level=alpha,
            correction="none: a discrepancy of fact"
            if station_mode == "copies"
            else f"Bonferroni over {len(station_pairs)} stations",
            caveats=(
                "an observer copy that differs from the official protocol is a discrepancy "
                "to be explained, not sampling error; copies failing their own control "
                "relations are kept out before, and empty cells are missing, not zero"
                if station_mode == "copies"
                else "interview counts of one station against its official shares: a "
                "Pearson chi-squared that assumes independent interviews within the station",
            ),
        )
    alarms = [f for f in (national, strata_finding, stations_finding) if f is not None]
    flagged = any(f.alarm for f in alarms)
    return ComparisonResult(
        rows=rows,
        joint=joint,
        strata=tuple(strata_rows),
        strata_joint=strata_joint,
        stations=tuple(findings),
        stations_compared=len(station_pairs or {}),
        nonresponse=sens,
        nonresponse_rate=rate,
        caveat=caveat,
        flagged=bool(flagged),
        alpha=alpha,
        method=f"independent estimate ({est.method}) against the official result",
        finding=national,
        strata_finding=strata_finding,
        stations_finding=stations_finding,
        strata_adjusted=adjusted,
        strata_untested=untested,
        stations_not_compared=skipped,
    )


def _stratum_test(est: ShareEstimates, off: FloatArray, pool_below: float) -> JointTest:
    """A stratum on its own stations: Bonferroni t on its df (never a Wald on a few reports)."""
    if est.n_psu < MIN_STRATUM_REPORTS or (est.df is not None and est.df < 1):
        return _untested(
            f"{est.n_psu} report(s): fewer than {MIN_STRATUM_REPORTS}, too few to estimate "
            "the stratum's variance"
        )
    # a stratum's few stations cannot carry a test of a small share: when they miss the
    # stations where it is concentrated its standard error collapses with its estimate
    # (measured: Russia 2011, 1,500 stations, Holm-adjusted p < 1e-3 on honest copies). Choices
    # under STRATUM_POOL of the stratum's official result are pooled, and the pool is left out
    # when it is itself that small.
    small = off < max(pool_below, STRATUM_POOL)
    if small.any() and (~small).sum() >= 1:
        keep_rest = float(off[small].sum()) >= STRATUM_POOL
        rows = [np.eye(len(off))[~small]]
        names = [c for c, sm in zip(est.choices, small, strict=True) if not sm]
        if keep_rest:
            rows.append(small.astype(float)[None, :])
            names.append("other (pooled)")
        pool = np.vstack(rows)
        est = dataclasses.replace(
            est,
            choices=tuple(names),
            estimate=pool @ est.estimate,
            cov=pool @ est.cov @ pool.T,
        )
        off = pool @ off
    var = np.diag(est.cov)
    ok = var > 1e-12 * max(float(np.max(var)), 1e-300)
    excluded = tuple(c for c, k in zip(est.choices, ok, strict=True) if not k)
    if ok.sum() < 1 or float(np.max(var)) <= 0:
        return _untested("no sampling variance among the stratum's reports", excluded)
    sub = dataclasses.replace(
        est,
        choices=tuple(c for c, k in zip(est.choices, ok, strict=True) if k),
        estimate=est.estimate[ok],
        cov=est.cov[np.ix_(ok, ok)],
    )
    return _bonferroni_t(sub, off[ok], excluded)  # the stratum's own df: r − 1


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values (Holm 1979), family-wise over the mapping.

    >>> holm({"a": 0.01, "b": 0.04, "c": 0.03})
    {'a': 0.03, 'c': 0.06, 'b': 0.06}
    """
    order = sorted(pvalues, key=lambda k: pvalues[k])
    m = len(order)
    out: dict[str, float] = {}
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * pvalues[k]))
        out[k] = round(running, 15)
    return out
