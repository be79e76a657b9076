"""Coverage studies: repeated stratified samples from a complete population of stations."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from .._exceptions import SaylauInputError, SaylauWarning, UnknownNameError
from ..domain.table import ProtocolTable
from ..results import Result
from .estimates import IntervalMethod, ShareEstimates
from .frame import frame_from_table
from .quickcount import Denominator, _denominator, quick_count
from .sample import TAKE_ALL_MULTIPLE, allocate_sample, draw_sample, is_take_all, take_all_labels
from .variance import stratified_cov, stratum_factor

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["CoverageResult", "coverage_study"]


# ====================================================================== coverage study
@dataclasses.dataclass(frozen=True, eq=False)
class CoverageResult(Result):
    """Repeated stratified samples from a complete population: do the intervals cover?

    ``coverage`` is the share of draws whose ``1 − alpha`` interval holds the true share;
    ``bias`` the mean estimate minus the truth; ``se_ratio`` the mean estimated standard
    error over the standard deviation of the estimates (near 1 when the variance is honest).
    ``strata`` counts the sampled strata, ``take_all`` the stations taken with certainty (in
    take-all strata of their own, not counted in ``strata``).
    """

    choices: tuple[str, ...]
    truth: FloatArray
    coverage: FloatArray
    bias: FloatArray
    mean_std_err: FloatArray
    empirical_sd: FloatArray
    se_ratio: FloatArray
    draws: int
    n: int
    strata: int
    alpha: float
    interval: str
    estimates: FloatArray = dataclasses.field(repr=False)
    std_errs: FloatArray = dataclasses.field(repr=False)
    samples: npt.NDArray[np.intp] | None = dataclasses.field(default=None, repr=False)
    take_all: int = 0


def coverage_study(
    population: ProtocolTable,
    *,
    n: int,
    strata: Sequence[str] = ("region",),
    draws: int = 1000,
    alpha: float = 0.05,
    denominator: Denominator = "valid",
    interval: IntervalMethod = "wald",
    chunk: int = 100,
    progress: Callable[[int, int], None] | None = None,
    keep_samples: bool = False,
    method: Literal["srs", "pps"] = "srs",
    nonresponse: float = 0.0,
    rng: int | np.random.Generator | None = None,
    take_all: float | None = TAKE_ALL_MULTIPLE,
) -> CoverageResult:
    """Draw stratified SRS samples of ``n`` stations from a complete results table, repeatedly.

    The full table is the population, so the true national shares are known. Each draw is a
    proportional stratified SRS (``allocate_sample``, at least 2 per stratum); each estimate is
    the quick-count estimator of the module docstring (every sampled station reports; a station
    with no valid ballots contributes 0 to both sums, as in the population). Draws are
    vectorised: index matrices of ``chunk`` draws at once.

    Parameters
    ----------
    population : ProtocolTable
    n : int
        Stations per sample.
    strata : sequence of str
        Columns defining the strata.
    draws : int
    alpha : float
    denominator : {"valid", "cast"}
    interval : {"wald", "wilson", "logit"}
    chunk : int
        Draws per vectorised block (memory ∝ chunk · n · choices).
    progress : callable, optional
        Called as ``progress(done, draws)`` after each block.
    keep_samples : bool
        Keep the drawn stations (row positions in ``population``, draws × n) in ``samples``.
    method : {"srs", "pps"}
        The design of each draw. ``"pps"`` (or any ``nonresponse``) draws with
        :func:`~saylau.survey.sample.draw_sample` and estimates with
        :func:`~saylau.survey.quickcount.quick_count` itself, one draw at a time.
    nonresponse : float
        Share of the sampled stations that do not report, at random (0 to < 1).
    rng : int or Generator
    take_all : float or None
        The design's take-all rule (:func:`~saylau.survey.sample.draw_sample`): stations
        above this multiple of their stratum's median registered voters are taken with
        certainty; ``None`` turns it off.

    Returns
    -------
    CoverageResult

    Examples
    --------
    >>> import polars as pl
    >>> g = np.random.default_rng(0)
    >>> a = g.binomial(500, g.beta(20, 20, size=400))
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(400)], "region": ["N", "S"] * 200,
    ...     "voters_on_list": [900] * 400, "A": a, "B": 500 - a}),
    ...     profile="plain", choices=["A", "B"], levels=["region"])
    >>> cov = coverage_study(t, n=40, draws=400, rng=1)
    >>> bool(0.9 < cov.coverage[0] < 0.99)
    True
    """
    if method not in ("srs", "pps"):
        raise UnknownNameError("unknown design", field="method", expected="srs | pps", found=method)
    if not 0 <= nonresponse < 1:
        raise SaylauInputError(
            "non-response must be a share", field="nonresponse", expected="0 <= x < 1",
            found=nonresponse,
        )  # fmt: skip
    if method == "pps" or nonresponse > 0:
        return _coverage_by_draws(
            population, n=n, strata=strata, draws=draws, alpha=alpha, denominator=denominator,
            interval=interval, progress=progress, method=method, nonresponse=nonresponse,
            rng=rng, take_all=take_all,
        )  # fmt: skip
    votes = population.vote_matrix().astype(float)
    x_all = _denominator(population, votes, denominator)
    labels = (
        np.full(population.stations, "all", dtype=object)
        if not strata
        else pl.DataFrame([population.frame.get_column(c).cast(pl.Utf8) for c in strata])
        .select(pl.concat_str(list(strata), separator=" | "))
        .to_series()
        .to_numpy()
    )
    taken: set[str] = set()
    if take_all is not None:  # the draw's take-all strata (sample.py), as draw_sample makes them
        fr = frame_from_table(population, strata=list(strata), past=False).frame
        ids = population.frame.get_column("station").cast(pl.Utf8).str.strip_chars()
        reg = (
            pl.DataFrame({"station": ids})
            .join(
                fr.select(pl.col("station").cast(pl.Utf8), pl.col("registered")),
                on="station",
                how="left",
                maintain_order="left",
            )
            .get_column("registered")
            .cast(pl.Float64)
            .fill_null(1.0)
            .to_numpy()
        )
        labels = take_all_labels(labels, np.maximum(reg, 1.0), take_all)
        taken = {str(h) for h in labels.tolist() if is_take_all(str(h))}
    order = np.argsort(labels.astype(str), kind="stable")
    lab_sorted = labels[order].astype(str)
    y = votes[order]
    x = x_all[order]
    keys, starts, sizes = np.unique(lab_sorted, return_index=True, return_counts=True)
    pop = {str(k): int(s) for k, s in zip(keys, sizes, strict=True)}
    ordinary = {k: v for k, v in pop.items() if k not in taken}
    certain = sum(pop[k] for k in taken)
    alloc = allocate_sample(n - certain, {k: float(v) for k, v in ordinary.items()}, ordinary)
    alloc.update({k: pop[k] for k in taken})
    nh = np.array([alloc[str(k)] for k in keys])
    truth = y.sum(axis=0) / x.sum()
    w = np.repeat(sizes / nh, nh)
    fac = stratum_factor(nh, sizes)
    groups = np.repeat(np.arange(len(nh)), nh)
    n_tot = int(nh.sum())
    # take-all stations are certainty units: no primary sampling units, no variance stratum
    df = n_tot - certain - int((nh >= 1).sum()) + len(taken)
    gen = np.random.default_rng(rng)
    kept = np.empty((draws, int(nh.sum())), dtype=np.intp) if keep_samples else None
    est_all = np.empty((draws, y.shape[1]))
    se_all = np.empty((draws, y.shape[1]))
    done = 0
    while done < draws:
        b = min(chunk, draws - done)
        idx = np.empty((b, n_tot), dtype=np.intp)
        col = 0
        for s, big_n, small_n in zip(starts, sizes, nh, strict=True):
            if small_n == 0:
                continue
            if small_n == big_n:
                idx[:, col : col + small_n] = s + np.arange(big_n)
            else:
                u = gen.random((b, big_n))
                idx[:, col : col + small_n] = (
                    s + np.argpartition(u, small_n - 1, axis=1)[:, :small_n]
                )
            col += small_n
        ys = y[idx]
        xs = x[idx]
        x_hat = xs @ w
        r = np.einsum("bnk,n->bk", ys, w) / x_hat[:, None]
        u_ = (ys - xs[:, :, None] * r[:, None, :]) * (w[None, :, None] / x_hat[:, None, None])
        cov_b, _ = stratified_cov(u_, groups, fac)
        var = np.diagonal(cov_b, axis1=1, axis2=2)
        est_all[done : done + b] = r
        if kept is not None:
            kept[done : done + b] = order[idx]
        se_all[done : done + b] = np.sqrt(np.clip(var, 0.0, None))
        done += b
        if progress is not None:
            progress(done, draws)
    q = float(stats.t.ppf(1 - alpha / 2, df))
    if interval == "wald":
        lo, hi = est_all - q * se_all, est_all + q * se_all
    else:
        los, his = [], []
        for i in range(draws):
            e = ShareEstimates(
                choices=(),
                estimate=est_all[i],
                cov=np.diag(se_all[i] ** 2),
                df=float(df),
                method="",
                nobs=n_tot,
                n_psu=n_tot,
                n_strata=len(keys),
            )
            a, b_ = e.conf_int(alpha, interval)
            los.append(a)
            his.append(b_)
        lo, hi = np.array(los), np.array(his)
    if np.any(est_all.std(axis=0, ddof=1) == 0):
        import warnings

        warnings.warn("some choice never varies across draws", SaylauWarning, stacklevel=2)
    res = _summarise(
        population, truth, est_all, lo, hi, se_all, n=n_tot, strata=len(keys) - len(taken),
        alpha=alpha, interval=interval, take_all=certain,
    )  # fmt: skip
    return dataclasses.replace(res, samples=kept)


def _summarise(
    population: ProtocolTable,
    truth: FloatArray,
    est_all: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    se_all: FloatArray,
    *,
    n: int,
    strata: int,
    alpha: float,
    interval: str,
    take_all: int = 0,
) -> CoverageResult:
    cover = ((lo <= truth[None, :]) & (truth[None, :] <= hi)).mean(axis=0)
    sd = est_all.std(axis=0, ddof=1)
    mse = se_all.mean(axis=0)
    return CoverageResult(
        choices=tuple(c.id for c in population.choices),
        truth=truth,
        coverage=cover,
        bias=est_all.mean(axis=0) - truth,
        mean_std_err=mse,
        empirical_sd=sd,
        se_ratio=mse / np.where(sd > 0, sd, np.nan),
        draws=len(est_all),
        n=n,
        strata=strata,
        alpha=alpha,
        interval=interval,
        estimates=est_all,
        std_errs=se_all,
        take_all=take_all,
    )


def _coverage_by_draws(
    population: ProtocolTable,
    *,
    n: int,
    strata: Sequence[str],
    draws: int,
    alpha: float,
    denominator: Denominator,
    interval: IntervalMethod,
    progress: Callable[[int, int], None] | None,
    method: Literal["srs", "pps"],
    nonresponse: float,
    rng: int | np.random.Generator | None,
    take_all: float | None = TAKE_ALL_MULTIPLE,
) -> CoverageResult:
    """Draw, drop reports at random, estimate with :func:`quick_count`: one draw at a time."""
    frame = frame_from_table(population, strata=list(strata), past=False)
    votes = population.vote_matrix().astype(float)
    x_all = _denominator(population, votes, denominator)
    truth = votes.sum(axis=0) / x_all.sum()
    # the frame strips station ids (SamplingFrame.from_frame): match them the same way
    ids = population.frame.get_column("station").cast(pl.Utf8).str.strip_chars().to_list()
    pos = {s: i for i, s in enumerate(ids)}
    gen = np.random.default_rng(rng)
    est_all = np.empty((draws, votes.shape[1]))
    se_all = np.empty_like(est_all)
    lo_all = np.empty_like(est_all)
    hi_all = np.empty_like(est_all)
    n_strata = n_certain = 0
    for i in range(draws):
        draw = draw_sample(
            frame, n=n, strata=list(strata), method=method, rng=gen, take_all=take_all
        )
        idx = np.array([pos[s] for s in draw.stations])
        idx = idx[gen.random(len(idx)) >= nonresponse]
        mask = np.zeros(population.stations, dtype=bool)
        mask[idx] = True
        qc = quick_count(
            population.filter(mask), frame=frame, sample=draw, denominator=denominator,
            empty="collapse",
        )  # fmt: skip
        est_all[i] = qc.shares.estimate
        se_all[i] = qc.shares.std_err
        lo_all[i], hi_all[i] = qc.shares.conf_int(alpha, interval)
        n_strata = sum(1 for h in draw.population if not is_take_all(h))
        n_certain = sum(1 for h in draw.stratum if is_take_all(h))
        if progress is not None:
            progress(i + 1, draws)
    return _summarise(
        population, truth, est_all, lo_all, hi_all, se_all, n=n, strata=n_strata, alpha=alpha,
        interval=f"{interval}, {method}, non-response {nonresponse:.0%}", take_all=n_certain,
    )  # fmt: skip
