"""Observed versus unobserved stations: turnout and every choice's share where observers were.

Where observers were assigned by a recorded random draw (:func:`saylau.survey.sample.draw_sample`,
``saylau sample``), the comparison is a randomised experiment and its interval is design-based:

* each arm (observed ``O``, unobserved ``U``) estimates the population ratio (turnout = ballots
  issued / registered; a choice's share = its votes / valid ballots, Against all included) by
  the stratified combined ratio estimator with weights ``N_h / n_{O,h}`` and
  ``N_h / n_{U,h}`` within the draw's strata;
* its variance is the with-replacement stratified linearisation (Cochran 1977, §6.11) of the
  ratio, summed over the two arms (Neyman's conservative variance: the covariance of the
  complementary arms is left out, so the interval is at least as wide as it should be);
* strata with fewer than two stations in an arm are pooled into one collapsed stratum (said in
  ``notes``); the difference ``O − U`` is tested two-sided, Holm over turnout and every choice.

The draw's record is cited as evidence of the random assignment: its seed, design, allocation and
frame fingerprint, and — when the frame is given — the draw re-done from the record
(:func:`saylau.survey.sample.redo_draw`) with the same stations.

Where the assignment was not random (observers went where they could), the same differences are
computed after matching, **labelled observational**: each observed station is paired, within
the same ``exact`` cell (region, district...), with its nearest unobserved station on the
previous election's turnout and leader share (standardised; with replacement), found through
:func:`saylau.turnout.voterlists.match_stations`; without a previous election, on the log of the
registered voters. The target is the effect on the observed stations. The controls' outcomes
are bias-corrected by a weighted linear regression on the covariates (Abadie & Imbens 2011);
the variance counts each treated station once and each control as many times squared as it
was used (the conditional variance of matching with replacement, with the squared
linearised deviations standing in for the conditional variances: conservative). Such a result
is never an alarm: unmeasured differences between the stations observers chose and the
others are not excluded.

References
----------
Enikolopov, R., Korovkin, V., Petrova, M., Sonin, K. and Zakharov, A. (2013). Field experiment
estimate of electoral fraud in Russian parliamentary elections. *PNAS* 110(2), 448-452.
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, §6.11 (ratio estimates in
stratified sampling).
Abadie, A. and Imbens, G. W. (2011). Bias-corrected matching estimators for average treatment
effects. *J. Business & Economic Statistics* 29(1), 1-11.
Imbens, G. W. and Rubin, D. B. (2015). *Causal Inference*, ch. 9 (stratified randomised
experiments, Neyman variance) and ch. 18 (matching).

Examples
--------
>>> from saylau.turnout.simulate import simulate_observer_experiment
>>> exp = simulate_observer_experiment(stations=600, observed=150, stuffing=0.15, rng=4)
>>> res = observer_effect(exp.table, draw=exp.draw, frame=exp.frame)
>>> res.design, res.observed_n, res.finding.kind
('randomised', 150, 'test')
>>> lo, hi = res.conf_int()
>>> bool(lo <= exp.truth["Leader"] <= hi)
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from .._exceptions import DataFormatError, SaylauInputError
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ..survey.frame import SamplingFrame
from ..survey.sample import SampleDraw, redo_draw
from ._common import adjust_pvalues, correction_text
from .voterlists import match_stations

__all__ = ["ObserverEffectResult", "observer_effect", "read_station_list"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_SEP = " | "


@dataclasses.dataclass(frozen=True, eq=False)
class ObserverEffectResult(Result):
    """Differences observed − unobserved in turnout and each choice's share.

    Attributes
    ----------
    estimate, std_err : float
        The headline difference: the share of ``headline`` (the leader by default).
    headline : str
        Which quantity ``estimate`` is.
    design : {"randomised", "observational"}
    label : str
        How to quote it ("design-based, random draw ..." or "OBSERVATIONAL: matched on ...").
    rows : polars.DataFrame
        Per quantity (``turnout`` then each choice id): observed, unobserved, difference,
        std_err, ci_low, ci_high, pvalue, pvalue_adj.
    observed_n, unobserved_n : int
        Stations in each arm (after matching: observed stations matched, distinct controls).
    strata : int
        Strata (randomised) or exact cells (observational) used.
    evidence : str
        The draw's record cited (randomised) or the matching rule (observational).
    finding : Finding
    notes : tuple of str
    """

    estimate: float
    std_err: float
    headline: str
    design: str
    label: str
    rows: pl.DataFrame
    observed_n: int
    unobserved_n: int
    strata: int
    evidence: str
    finding: Finding
    notes: tuple[str, ...] = ()
    method: str = ""

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Normal interval of the headline difference."""
        q = float(stats.norm.ppf(1 - alpha / 2))
        return (self.estimate - q * self.std_err, self.estimate + q * self.std_err)


def _quantities(table: ProtocolTable) -> list[tuple[str, IntArray, IntArray]]:
    out = [("turnout", table.issued(), table.registered())]
    valid = table.valid()
    out += [(c.id, table.votes(c), valid) for c in table.choices]
    return out


def _arm(y: FloatArray, x: FloatArray, h: IntArray, w: FloatArray) -> tuple[float, float]:
    """Stratified combined ratio and its linearised with-replacement variance."""
    xt = float((w * x).sum())
    r = float((w * y).sum()) / xt
    u = w * (y - r * x) / xt
    var = 0.0
    for g in np.unique(h):
        ug = u[h == g]
        n = len(ug)
        if n > 1:
            var += n / (n - 1) * float(((ug - ug.mean()) ** 2).sum())
    return r, var


def _strata_labels(
    table: ProtocolTable, draw: SampleDraw, frame: SamplingFrame | None
) -> npt.NDArray[np.str_]:
    ids = table.frame.get_column("station").cast(pl.Utf8)
    cols = draw.strata_columns
    if not cols:
        return np.full(len(ids), "all")
    if frame is not None:
        lab = pl.DataFrame({"station": frame.frame.get_column("station").cast(pl.Utf8)})
        lab = lab.with_columns(pl.Series("h", frame.stratum_labels(list(cols)).astype(str)))
        joined = pl.DataFrame({"station": ids}).join(lab, on="station", how="left")
        return joined.get_column("h").fill_null("(not in frame)").to_numpy().astype(str)
    missing = [c for c in cols if c not in table.frame.columns]
    if missing:
        raise SaylauInputError(
            "the draw's strata columns are not in the protocol table; give the frame",
            file=table.source,
            field=missing[0],
            expected=" | ".join(cols),
        )
    parts = [table.frame.get_column(c).cast(pl.Utf8).fill_null("") for c in cols]
    return np.array([_SEP.join(v) for v in zip(*parts, strict=True)], dtype=str)


def _collapse(h: npt.NDArray[np.str_], obs: npt.NDArray[np.bool_]) -> tuple[IntArray, list[str]]:
    notes = []
    labels = h.copy()
    small = [g for g in np.unique(h) if (obs & (h == g)).sum() < 2 or (~obs & (h == g)).sum() < 2]
    if small:
        labels[np.isin(h, small)] = "(collapsed)"
        notes.append(f"{len(small)} strata with fewer than 2 stations in an arm pooled into one")
    _, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64), notes


def _randomised(
    table: ProtocolTable, draw: SampleDraw, frame: SamplingFrame | None
) -> tuple[list[tuple[str, float, float, float, float]], int, int, int, str, list[str]]:
    ids = table.frame.get_column("station").cast(pl.Utf8).to_numpy().astype(str)
    drawn = set(draw.stations)
    obs = np.isin(ids, list(drawn))
    notes = []
    absent = len(drawn - set(ids.tolist()))
    if absent:
        notes.append(f"{absent} drawn stations are not in the protocol table")
    h_raw = _strata_labels(table, draw, frame)
    codes, more = _collapse(h_raw, obs)
    notes += more
    nh = np.bincount(codes)
    n_obs = np.bincount(codes[obs], minlength=len(nh))
    n_un = nh - n_obs
    w_obs = (nh / np.maximum(n_obs, 1))[codes]
    w_un = (nh / np.maximum(n_un, 1))[codes]
    rows = []
    for name, y, x in _quantities(table):
        yf, xf = y.astype(float), x.astype(float)
        ro, vo = _arm(yf[obs], xf[obs], codes[obs], w_obs[obs])
        ru, vu = _arm(yf[~obs], xf[~obs], codes[~obs], w_un[~obs])
        rows.append((name, ro, ru, ro - ru, float(np.sqrt(vo + vu))))
    cite = (
        f"random draw: design {draw.method}, allocation {draw.allocation}, seed {draw.seed}, "
        f"{len(draw.stations)} of {draw.frame_stations} stations, strata "
        f"{', '.join(draw.strata_columns) or 'none'}, frame fingerprint "
        f"{draw.frame_fingerprint[:16]}"
    )
    if frame is not None:
        again = redo_draw(draw, frame)
        same = again.stations == draw.stations
        cite += "; re-done from the record: " + ("same stations" if same else "DIFFERENT stations")
        if not same:
            raise SaylauInputError(
                "the draw re-done from its record gives different stations",
                file=frame.source,
                field="draw",
                expected="the recorded stations",
            )
    else:
        cite += "; not re-done (no frame given)"
    strata = len(np.unique(codes))
    return rows, int(obs.sum()), int((~obs).sum()), strata, cite, notes


def _matched(
    table: ProtocolTable,
    observed: Sequence[str],
    previous: ProtocolTable | None,
    exact: Sequence[str],
) -> tuple[list[tuple[str, float, float, float, float]], int, int, int, str, list[str]]:
    ids = table.frame.get_column("station").cast(pl.Utf8).to_numpy().astype(str)
    obs = np.isin(ids, list(observed))
    notes = []
    missing = len(set(observed) - set(ids.tolist()))
    if missing:
        notes.append(f"{missing} observed stations are not in the protocol table")
    if previous is not None:
        m = match_stations(table, previous)
        pairs = m.pairs.select("station_a", "station_b")
        pv = previous.frame.select(pl.col("station").cast(pl.Utf8).alias("station_b")).with_columns(
            pl.Series("t", previous.issued() / np.maximum(previous.registered(), 1)),
            pl.Series("v", previous.votes(previous.leader()) / np.maximum(previous.valid(), 1)),
        )
        cov = (
            pl.DataFrame({"station_a": ids})
            .join(pairs.join(pv, on="station_b"), on="station_a", how="left")
            .select("t", "v")
            .to_numpy()
        )
        agree = sum(m.agreement.get(r, 0.0) * n for r, n in m.by_rule.items())
        agree /= max(m.matched, 1)
        rule = (
            f"previous election's turnout and {previous.leader().name} share "
            f"(stations matched across elections: {m.share_a:.1%}, {m.rule}; registered "
            f"voters within 20% in {agree:.0%} of the matched pairs)"
        )
    else:
        cov = np.log(np.maximum(table.registered(), 1)).astype(float)[:, None]
        rule = "log registered voters (no previous election given)"
    has = np.isfinite(cov).all(axis=1)
    if (~has & obs).any():
        notes.append(f"{int((~has & obs).sum())} observed stations without covariates left out")
    cols = [c for c in exact if c in table.frame.columns]
    if cols:
        parts = [table.frame.get_column(c).cast(pl.Utf8).fill_null("") for c in cols]
        cell = np.array([_SEP.join(v) for v in zip(*parts, strict=True)], dtype=str)
    else:
        cell = np.full(len(ids), "all")
    sd = np.nanstd(cov[has], axis=0)
    z = cov / np.where(sd > 0, sd, 1.0)
    treated, control = [], []
    for c in np.unique(cell[obs & has]):
        t_idx = np.flatnonzero(obs & has & (cell == c))
        c_idx = np.flatnonzero(~obs & has & (cell == c))
        if len(c_idx) == 0:
            notes.append(f"no unobserved station to match in cell {c!r}: {len(t_idx)} left out")
            continue
        d = ((z[t_idx, None, :] - z[None, c_idx, :]) ** 2).sum(axis=2)
        treated.append(t_idx)
        control.append(c_idx[np.argmin(d, axis=1)])
    if not treated:
        raise SaylauInputError(
            "no observed station could be matched", file=table.source, field="observed"
        )
    ti, ci = np.concatenate(treated), np.concatenate(control)
    uses = np.bincount(ci, minlength=len(ids)).astype(float)
    distinct = np.flatnonzero(uses)
    controls = np.flatnonzero(~obs & has)
    design = np.column_stack([np.ones(len(controls)), z[controls]])
    n_t = float(len(ti))
    rows = []
    for name, y, x in _quantities(table):
        yf, xf = y.astype(float), x.astype(float)
        # bias correction (Abadie & Imbens 2011): the controls' share regressed on the
        # covariates (weighted by the base), the fitted gap between each pair added back
        share = yf[controls] / np.maximum(xf[controls], 1.0)
        wts = np.sqrt(xf[controls])
        beta = np.linalg.lstsq(design * wts[:, None], share * wts, rcond=None)[0][1:]
        shift = xf[ci] * ((z[ti] - z[ci]) @ beta)
        yt, xt, yc, xc = yf[ti], xf[ti], yf[ci] + shift, xf[ci]
        ro, rc = yt.sum() / xt.sum(), yc.sum() / xc.sum()
        # variance: treated stations once each, each control as often as it was used
        e_t = (yt - ro * xt) / xt.mean()
        e_c = (yf[distinct] - rc * xf[distinct]) / xc.mean()
        var = (float((e_t**2).sum()) + float((uses[distinct] ** 2 * e_c**2).sum())) / n_t**2
        rows.append((name, float(ro), float(rc), float(ro - rc), float(np.sqrt(var))))
    evidence = (
        "no random draw: nearest unobserved station within "
        f"{', '.join(cols) or 'the country'} on {rule}, with replacement"
    )
    return rows, len(ti), len(np.unique(ci)), len(np.unique(cell[ti])), evidence, notes


def read_station_list(path: str | Path) -> tuple[str, ...]:
    """Station ids, one per line (a first line ``station`` is a header; blank lines skipped).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "observed.txt"
    >>> _ = p.write_text("station\\n12\\n\\n 7 \\n")
    >>> read_station_list(p)
    ('12', '7')
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataFormatError("file not found", file=str(p)) from None
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    if ids and ids[0].casefold() == "station":
        ids = ids[1:]
    if not ids:
        raise DataFormatError("no station ids in the file", file=str(p), expected="one id a line")
    return tuple(ids)


def observer_effect(
    table: ProtocolTable,
    *,
    observed: Sequence[str] | None = None,
    draw: SampleDraw | None = None,
    frame: SamplingFrame | None = None,
    previous: ProtocolTable | None = None,
    exact: Sequence[str] = ("region",),
    headline: str | None = None,
    level: float = 0.05,
) -> ObserverEffectResult:
    """Turnout and every choice's share in observed minus unobserved stations.

    Parameters
    ----------
    table : ProtocolTable
        The official protocols of every station.
    observed : sequence of str, optional
        Ids of the observed stations when there was no random draw (observational design).
    draw : SampleDraw, optional
        The recorded random draw that assigned the observers (randomised design); its
        stations are the observed ones.
    frame : SamplingFrame, optional
        The frame the draw was made from: gives each station's stratum and lets the draw be
        re-done as evidence.
    previous : ProtocolTable, optional
        The previous election at the same stations, to match on (observational design).
    exact : sequence of str, default ("region",)
        Columns matched exactly (observational design).
    headline : str, optional
        The quantity reported as ``estimate`` (default: the leader's share).
    level : float, default 0.05

    Returns
    -------
    ObserverEffectResult

    Raises
    ------
    SaylauInputError
        Neither or both of ``observed`` and ``draw``; a draw re-done with other stations.
    """
    if (observed is None) == (draw is None):
        raise SaylauInputError(
            "give either the observed stations or the random draw, not both or neither",
            field="observed/draw",
        )
    if draw is not None:
        rows, n_o, n_u, strata, evidence, notes = _randomised(table, draw, frame)
        design = "randomised"
        label = "design-based: observers assigned by a recorded random draw"
    else:
        assert observed is not None
        rows, n_o, n_u, strata, evidence, notes = _matched(table, observed, previous, exact)
        design = "observational"
        label = "OBSERVATIONAL: observers not assigned at random; matched comparison"
    frame_rows = pl.DataFrame(
        rows,
        schema=["quantity", "observed", "unobserved", "difference", "std_err"],
        orient="row",
    )
    diff = frame_rows.get_column("difference").to_numpy()
    se = frame_rows.get_column("std_err").to_numpy()
    p = 2 * stats.norm.sf(np.abs(diff / np.where(se > 0, se, np.nan)))
    reject, adj = adjust_pvalues(p, method="holm", level=level)
    q = float(stats.norm.ppf(1 - level / 2))
    frame_rows = frame_rows.with_columns(
        pl.Series("ci_low", diff - q * se),
        pl.Series("ci_high", diff + q * se),
        pl.Series("pvalue", p),
        pl.Series("pvalue_adj", adj),
    )
    head = headline or table.leader().id
    idx = frame_rows.get_column("quantity").to_list().index(head)
    corr = correction_text("holm", len(rows), "quantities (turnout and every choice)")
    if design == "randomised":
        finding = Finding(
            alarm=bool(reject.any()),
            kind="test",
            level=level,
            pvalue=float(np.nanmin(adj)),
            correction=corr,
            calibration="simulated elections with fraud only where no observer is present and "
            "clean ones, tests/turnout/test_observed.py (coverage and false-alarm rate with "
            "binomial bands)",
            caveats=(
                "intention to treat: stations drawn, whether or not an observer stayed all day",
                "Neyman variance: conservative",
            ),
        )
    else:
        finding = Finding(
            alarm=False,
            kind="model",
            level=level,
            pvalue=float(np.nanmin(adj)),
            correction=corr,
            caveats=(
                "observational: observers were not assigned at random; never an alarm",
                "unmeasured differences between observed and unobserved stations not excluded",
            ),
        )
    return ObserverEffectResult(
        estimate=float(diff[idx]),
        std_err=float(se[idx]),
        headline=head,
        design=design,
        label=label,
        rows=frame_rows,
        observed_n=n_o,
        unobserved_n=n_u,
        strata=strata,
        evidence=evidence,
        finding=finding,
        notes=tuple(notes),
        method="stratified combined ratio, Neyman variance"
        if design == "randomised"
        else "nearest-neighbour matching with replacement, exact cells, paired linearisation",
    )
