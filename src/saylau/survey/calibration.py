"""False-alarm rates of the survey comparisons, measured on real elections resampled as
populations.

The complete precinct results of a real election are a population whose official result is
honest by construction (the official figures *are* the population). Each replication draws a
sample from it as a movement would (stratified by region), builds the quick count (observer
copies equal to the official protocols, optionally with stations that never report) or the
exit poll (:func:`~saylau.survey.exitpoll_sim.simulate_exitpoll_on`: interviews, refusals),
compares it with the official result exactly as ``saylau quickcount --official`` and ``saylau
exitpoll --official`` do, and records whether each alarm was raised. An alarm calibrated at
level α is raised in about α of the replications nationally, and in at most α per stratum
after the Holm correction. :func:`binomial_band` gives the band a measured rate must lie in.

Examples
--------
>>> lo, hi = binomial_band(0.05, 400)
>>> round(lo, 4), round(hi, 4)
(0.025, 0.08)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from .._exceptions import UnknownNameError
from ..domain.table import ProtocolTable
from ..results import Result
from .exitpoll import estimate_by_stratum, estimate_exitpoll
from .exitpoll_sim import simulate_exitpoll_on
from .frame import frame_from_table
from .official import OfficialResults, compare_exit_poll, compare_quick_count
from .quickcount import quick_count
from .sample import draw_sample

__all__ = ["FalseAlarmStudy", "binomial_band", "false_alarm_study"]

FloatArray = npt.NDArray[np.float64]


def binomial_band(level: float, draws: int, *, coverage: float = 0.99) -> tuple[float, float]:
    """The central ``coverage`` range of the rate of Binomial(``draws``, ``level``) / draws."""
    tail = (1 - coverage) / 2
    lo = float(stats.binom.ppf(tail, draws, level)) / draws
    hi = float(stats.binom.ppf(1 - tail, draws, level)) / draws
    return lo, hi


@dataclasses.dataclass(frozen=True, eq=False)
class FalseAlarmStudy(Result):
    """How often each comparison's alarm was raised on honest official results.

    ``national``, ``strata`` and ``stations`` are the shares of replications where that alarm
    was raised (``None`` where the comparison did not apply); ``strata_screen`` how often
    some stratum's Holm-adjusted p fell under the level, alarm or screen; ``band`` the 99%
    binomial band
    of the nominal level over ``draws``; ``strata_tested`` the mean number of strata tested
    and ``strata_untested`` the mean number that had too few reports.
    """

    kind: str
    population: str | None
    n: int
    draws: int
    level: float
    design: str
    nonresponse: float
    national: float
    strata: float | None
    strata_screen: float | None
    stations: float | None
    strata_tested: float
    strata_untested: float
    band: tuple[float, float]
    seed: int | None
    national_pvalues: FloatArray = dataclasses.field(repr=False)


def false_alarm_study(
    population: ProtocolTable,
    *,
    kind: Literal["quickcount", "exitpoll"] = "quickcount",
    n: int = 300,
    draws: int = 200,
    strata: Sequence[str] = ("region",),
    level: float = 0.05,
    method: Literal["srs", "pps"] = "srs",
    nonresponse: float = 0.0,
    rng: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    by_totals: bool = False,
    tally: bool = True,
    per_station: int | None = 50,
) -> FalseAlarmStudy:
    """Measure the false-alarm rates of the quick-count or exit-poll comparison.

    Parameters
    ----------
    population : ProtocolTable
        A complete real election (its official result is the truth).
    kind : {"quickcount", "exitpoll"}
    n : int
        Stations per sample.
    draws : int
        Replications.
    strata : sequence of str
        Strata columns (quick count; the exit-poll simulation stratifies by ``region``).
    level : float
        Level of every test.
    method : {"srs", "pps"}
        Quick-count design.
    nonresponse : float
        Share of sampled stations that never report (quick count), at random.
    rng : int, optional
        Seed (recorded in the result).
    progress : callable, optional
        ``progress(done, draws)``.
    by_totals : bool
        Exit polls: compare per stratum with stratum totals only (the screen) instead of
        every station's protocol (the re-drawn tests).
    tally : bool
        Exit polls: weight with the interviewers' tally (their intervals); ``False`` estimates
        from the records alone, as a poll without a tally must.
    per_station : int or None
        Exit polls: interviews aimed at per station, the interval of each station set from its
        turnout (:func:`~saylau.survey.exitpoll_sim.simulate_exitpoll_on`): intervals then
        differ between stations; ``None``: the same interval everywhere.

    Returns
    -------
    FalseAlarmStudy
    """
    if kind not in ("quickcount", "exitpoll"):
        raise UnknownNameError(
            "unknown survey", field="kind", expected="quickcount | exitpoll", found=kind
        )
    gen = np.random.default_rng(rng)
    official = OfficialResults.from_table(population)
    frame = frame_from_table(population, strata=list(strata), past=False)
    # the frame strips station ids (SamplingFrame.from_frame): match them the same way
    ids = population.frame.get_column("station").cast(pl.Utf8).str.strip_chars().to_list()
    pos = {s: i for i, s in enumerate(ids)}
    nat, per, sta, tested, untested, pvals, screen = [], [], [], [], [], [], []
    for i in range(draws):
        if kind == "quickcount":
            draw = draw_sample(frame, n=n, strata=list(strata), method=method, rng=gen)
            idx = np.array([pos[s] for s in draw.stations])
            idx = idx[gen.random(len(idx)) >= nonresponse]
            mask = np.zeros(population.stations, dtype=bool)
            mask[idx] = True
            reports = population.filter(mask)
            qc = quick_count(reports, frame=frame, sample=draw, by_stratum=True, empty="collapse")
            res = compare_quick_count(
                qc, official, reports=reports, strata=list(draw.strata_columns), alpha=level
            )
        else:
            sim = simulate_exitpoll_on(population, n_sampled=n, per_station=per_station, rng=gen)
            given = sim.tally if tally else None
            est = estimate_exitpoll(sim.interviews, sim.frame, tally=given)
            sub = estimate_by_stratum(sim.interviews, sim.frame, tally=given)
            # every station's protocol: the per-stratum tests re-draw polls from them
            off = dataclasses.replace(
                official,
                totals={c: float(v) for c, v in sim.official.items()},
                by_stratum=sim.official_by_stratum if by_totals else {},
                stations=None if by_totals else official.stations,
            )
            res = compare_exit_poll(est, off, by_stratum=sub, alpha=level, rng=i)
        assert res.finding is not None
        nat.append(res.finding.alarm)
        pvals.append(res.joint.pvalue)
        per.append(None if res.strata_finding is None else res.strata_finding.alarm)
        screen.append(
            None
            if res.strata_finding is None
            else any(v < level for v in res.strata_adjusted.values())
        )
        sta.append(None if res.stations_finding is None else res.stations_finding.alarm)
        tested.append(len(res.strata_adjusted))
        untested.append(len(res.strata_untested))
        if progress is not None:
            progress(i + 1, draws)

    def rate(values: list[bool | None]) -> float | None:
        got = [v for v in values if v is not None]
        return float(np.mean(got)) if got else None

    return FalseAlarmStudy(
        kind=kind,
        population=population.source,
        n=n,
        draws=draws,
        level=level,
        design=method
        if kind == "quickcount"
        else "srs (simulated interviews" + ("" if tally else ", no tally") + ")",
        nonresponse=nonresponse,
        national=float(np.mean(nat)),
        strata=rate(per),
        strata_screen=rate(screen),
        stations=rate(sta),
        strata_tested=float(np.mean(tested)),
        strata_untested=float(np.mean(untested)),
        band=binomial_band(level, draws),
        seed=rng,
        national_pvalues=np.asarray(pvals, dtype=float),
    )
