"""How often each alarm goes off on clean elections, and how often it catches padding.

An alarm is worth publishing only when it is known how often it rings on an honest election.
:func:`calibrate` measures it: it draws clean elections from a real election's own structure
(:func:`election_structure`: the real registered voters of every station, the real units, each
region's median turnout and leader share and their robust spread, through
:func:`~saylau.forensics.simulate.simulate_election` with no fraud), runs the battery of
:func:`~saylau.forensics.battery.run_forensics` on each, and counts the runs in which each
method's alarm, and the family's, was raised. The same elections with ballot stuffing in 1%, 5%
and 20% of the stations (Klimek et al.'s extreme mechanism, alone or with incremental fraud in
as many stations again) give the power. Real clean controls (Poland 2020) are run as they are.

The measured table is stored in ``tests/results/calibration.json`` with its seeds, and a copy
ships with the package (``saylau/data/calibration.json``): :func:`stored_calibration` reads it,
and every finding cites its false-alarm rate from it.

What a simulated clean election can and cannot show: it has the real election's station sizes
and regional levels, but within a region the stations scatter as one logit-normal blob (no
urban/rural mixture beyond the robust spread, no correlation of turnout with share). A method
that is calibrated here can still misfire on a clean election whose structure is richer; the
clean real controls are the other half of the evidence.

Examples
--------
>>> from saylau.forensics.simulate import simulate_election
>>> real = simulate_election(stations=600, regions=3, rng=2).table
>>> s = election_structure(real)
>>> s.registered.shape[0], sorted(s.units)
(600, ['region'])
>>> clean = simulate_election(structure=s, rng=1).table
>>> clean.stations, clean.levels
(600, ('region',))
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._exceptions import EmptyInputError
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Result
from ._stations import resolve_leader, station_quality
from .simulate import FraudSpec, StationStructure, simulate_election

__all__ = [
    "CALIBRATION_FILE",
    "POWER_SCENARIOS",
    "CalibrationCell",
    "CalibrationResult",
    "Scenario",
    "StoredCalibration",
    "calibrate",
    "clopper_pearson",
    "combine_calibrations",
    "election_structure",
    "read_calibration",
    "stored_calibration",
    "study_from_dict",
]

FloatArray = npt.NDArray[np.float64]

#: Where the measured table is kept in the source tree (with its seeds) and in the package.
CALIBRATION_FILE = "tests/results/calibration.json"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A named way of manipulating the simulated elections (none for ``clean``)."""

    name: str
    fraud: tuple[FraudSpec, ...] = ()
    rounded_share: float = 0.0


#: Ballot stuffing in 1%, 5% and 20% of the stations, alone and with incremental fraud, and
#: drawn protocols (turnout and leader share raised to a whole percentage) in 1% and 5%.
POWER_SCENARIOS: tuple[Scenario, ...] = (
    tuple(
        Scenario(f"stuffing {round(100 * s)}%", (FraudSpec("extreme", s),))
        for s in (0.01, 0.05, 0.2)
    )
    + tuple(
        Scenario(
            f"stuffing {round(100 * s)}% + incremental {round(100 * s)}%",
            (FraudSpec("extreme", s), FraudSpec("incremental", s)),
        )
        for s in (0.01, 0.05, 0.2)
    )
    + tuple(Scenario(f"drawn protocols {round(100 * s)}%", (), s) for s in (0.01, 0.05))
)


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) ``1 - alpha`` interval of a binomial proportion ``k / n``.

    >>> [round(x, 4) for x in clopper_pearson(0, 200)]
    [0.0, 0.0183]
    """
    if n <= 0:
        return (math.nan, math.nan)
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return (lo, hi)


# ------------------------------------------------------------------------------ structure
def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 0.005, 0.995)
    out: FloatArray = np.log(q / (1.0 - q))
    return out


def _robust(x: FloatArray) -> tuple[float, float]:
    """Median and 1.4826 x MAD (a normal sd that a tail of padded stations barely moves)."""
    if x.size == 0:
        return (math.nan, math.nan)
    med = float(np.median(x))
    return med, float(1.4826 * np.median(np.abs(x - med)))


def _stratified(codes: npt.NDArray[np.int64], m: int, gen: np.random.Generator) -> Any:
    """``m`` rows drawn without replacement, allocated to the units in proportion to size."""
    sizes = np.bincount(codes)
    quota = m * sizes / sizes.sum()
    take = np.floor(quota).astype(np.int64)
    extra = m - int(take.sum())
    if extra > 0:  # largest remainders
        take[np.argsort(-(quota - take), kind="stable")[:extra]] += 1
    rows = [
        gen.choice(np.flatnonzero(codes == u), size=int(t), replace=False)
        for u, t in enumerate(take)
        if t > 0
    ]
    return np.sort(np.concatenate(rows))


def election_structure(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    by: str | None = "region",
    stations: int | None = None,
    min_spread: float = 0.05,
    rng: int | np.random.Generator | None = None,
) -> StationStructure:
    """A real election's structure, for drawing clean elections like it.

    Parameters
    ----------
    table : ProtocolTable
    leader : str, Choice or None
        The choice whose share is modelled (the contender with most votes by default).
    by : str or None
        Level whose units get their own turnout and share levels (``"region"``; national when
        the table has no such level).
    stations : int, optional
        Keep a random subsample of this many stations, allocated to the units in proportion to
        their size (a stratified subsample: faster runs, same regional mix).
    min_spread : float
        Smallest within-unit spread (logit scale).
    rng : int or numpy.random.Generator, optional
        Seed of the subsample.

    Returns
    -------
    StationStructure
        Registered voters of every usable station (rows with registered voters), every level of
        the table, and per unit the median and 1.4826 x MAD of the logit turnout (issued /
        registered) and of the logit leader share (leader / (valid + invalid)) over its stations
        with ballots and a turnout up to 100%.

    Raises
    ------
    EmptyInputError
        When no station has registered voters.
    """
    choice = resolve_leader(table, leader)
    keep = station_quality(table).usable & (table.registered() > 0)
    if not keep.any():
        raise EmptyInputError("no station with registered voters", file=table.source)
    gen = np.random.default_rng(rng)
    level = by if by is not None and by in table.frame.columns else None
    unit = table.level_values(level) if level else np.full(table.stations, "", dtype=object)
    names, codes = np.unique(unit.astype(str), return_inverse=True)
    rows = np.flatnonzero(keep)
    if stations is not None and stations < rows.size:
        rows = rows[_stratified(codes[rows].astype(np.int64), stations, gen)]
    reg = table.registered().astype(np.float64)
    issued = table.issued().astype(np.float64)
    cast = table.cast().astype(np.float64)
    lead = table.votes(choice).astype(np.float64)
    ok = keep & (cast > 0) & (issued <= reg) & (lead <= cast)
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = _logit(np.where(ok, issued / reg, 0.5))
        lv = _logit(np.where(ok, lead / cast, 0.5))
    all_t, all_v = _robust(lt[ok]), _robust(lv[ok])
    params = np.empty((names.size, 4))
    for u in range(names.size):
        sel = ok & (codes == u)
        t = _robust(lt[sel]) if sel.sum() >= 5 else all_t
        v = _robust(lv[sel]) if sel.sum() >= 5 else all_v
        params[u] = (t[0], max(t[1], min_spread), v[0], max(v[1], min_spread))
    tot = table.totals()
    others = [float(tot[c.id]) for c in table.choices if c.id != choice.id and tot[c.id] > 0]
    c = codes[rows]
    levels = [lv_ for lv_ in table.levels if lv_ in table.frame.columns]
    return StationStructure(
        registered=table.registered()[rows].astype(np.int64),
        turnout_logit=params[c, 0],
        turnout_sd=params[c, 1],
        share_logit=params[c, 2],
        share_sd=params[c, 3],
        units={lv_: table.level_values(lv_)[rows] for lv_ in levels},
        other_shares=tuple(others) if others else (1.0,),
    )


# ------------------------------------------------------------------------------ the study
@dataclasses.dataclass(frozen=True)
class CalibrationCell(Result):
    """Alarms counted over the runs of one source and one scenario.

    ``alarms`` maps each test method to the runs in which its alarm was raised (after the
    family's correction); ``family`` counts the runs with any alarm; ``interval`` is the exact
    95% interval of ``family / runs``; ``seeds`` are the run seeds (``seed_start`` onwards).
    ``pvalues`` keeps each test method's own p-value of every run, before the family's
    correction, so that studies of different methods on the same seeds can be joined
    (:func:`combine_calibrations`).
    """

    source: str
    scenario: str
    clean: bool
    runs: int
    family: int
    rate: float
    interval: tuple[float, float]
    alarms: Mapping[str, int]
    stations: int
    seed_start: int
    pvalues: Mapping[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class CalibrationResult(Result):
    """A calibration study: false-alarm rates on clean elections and power against padding.

    Attributes
    ----------
    level : float
        Family-wise level the battery was run at.
    methods : tuple of str
        The test methods run (the only ones that can raise an alarm).
    cells : tuple of CalibrationCell
    false_alarm_rates : mapping
        Per method and for ``"family"``: alarms on every clean run pooled, over the runs.
    settings : mapping
        Seed, resamples, stations per simulated election, runs: what reproduces the study.
    """

    level: float
    methods: tuple[str, ...]
    cells: tuple[CalibrationCell, ...]
    false_alarm_rates: Mapping[str, float]
    clean_runs: int
    settings: Mapping[str, Any]

    def cell(self, source: str, scenario: str) -> CalibrationCell:
        """The cell of one source and scenario."""
        for c in self.cells:
            if c.source == source and c.scenario == scenario:
                return c
        raise KeyError((source, scenario))


def calibrate(
    sources: Mapping[str, ProtocolTable],
    *,
    runs: int = 200,
    power_runs: int = 50,
    scenarios: Sequence[Scenario] = POWER_SCENARIOS,
    clean_controls: Mapping[str, ProtocolTable] | None = None,
    level: float = 0.01,
    stations: int | None = None,
    resamples: int = 200,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Measure each alarm's false-alarm rate on clean elections and its power against padding.

    Parameters
    ----------
    sources : mapping of str to ProtocolTable
        Real elections whose structure the clean elections copy (:func:`election_structure`).
    runs : int
        Clean elections simulated per source.
    power_runs : int
        Elections per source and fraud scenario (0 skips the power study).
    scenarios : sequence of Scenario
        The fraud scenarios (:data:`POWER_SCENARIOS`: stuffing in 1%, 5%, 20% of the stations,
        alone and with incremental fraud).
    clean_controls : mapping of str to ProtocolTable, optional
        Real clean elections, each run once as it is.
    level : float
        Family-wise level of the battery.
    stations : int, optional
        Stratified subsample of each source's stations (faster runs).
    resamples : int
        Resamples of the methods that resample.
    seed : int
        Run ``i`` of a source and scenario uses seed ``seed + i`` for the election and the
        battery; the structure's subsample uses ``seed``.
    methods : sequence of str, optional
        Only these test methods (all the registry's test methods by default). Studies of
        different methods with the same settings are joined by :func:`combine_calibrations`.
    on_step : callable, optional
        Called after every run with a short description (a progress bar).

    Returns
    -------
    CalibrationResult

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election
    >>> real = simulate_election(stations=500, regions=3, rng=2).table
    >>> res = calibrate({"toy": real}, runs=3, power_runs=0)
    >>> res.cell("toy", "clean").runs, res.false_alarm_rates["family"] <= 1
    (3, True)
    """
    from .battery import REGISTRY, family_pvalue, run_forensics

    step = on_step or (lambda _s: None)
    tests = tuple(s.name for s in REGISTRY if s.kind == "test")
    if methods is not None:
        unknown = sorted(set(methods) - set(tests))
        if unknown:
            raise ValueError(f"not test methods of the registry: {', '.join(unknown)}")
    methods = tuple(m for m in tests if methods is None or m in methods)
    cells: list[CalibrationCell] = []
    pooled = dict.fromkeys((*methods, "family"), 0)
    clean_runs = 0

    def count(report: Any) -> dict[str, int]:
        return {m: int(m in report.alarms) for m in methods}

    def raw_p(report: Any) -> dict[str, float]:
        got = {o.name: family_pvalue(o.finding) for o in report.outcomes}
        return {m: got.get(m, math.nan) for m in methods}

    for name, table in (clean_controls or {}).items():
        rep = run_forensics(table, seed=seed, resamples=resamples, level=level, methods=methods)
        got = count(rep)
        fam = int(bool(rep.alarms))
        ps: dict[str, tuple[float, ...]] = {m: (p,) for m, p in raw_p(rep).items()}
        cells.append(_cell(name, "real clean control", True, 1, fam, got, table.stations, seed, ps))
        for m, k in got.items():
            pooled[m] += k
        pooled["family"] += fam
        clean_runs += 1
        step(f"{name}: real control")
    for name, table in sources.items():
        structure = election_structure(table, stations=stations, rng=seed)
        n = int(structure.registered.shape[0])
        plan = [(Scenario("clean"), runs)] + [(s, power_runs) for s in scenarios]
        for scenario, reps in plan:
            if reps <= 0:
                continue
            got = dict.fromkeys(methods, 0)
            pv: dict[str, list[float]] = {m: [] for m in methods}
            fam = 0
            for i in range(reps):
                sim = simulate_election(
                    structure=structure,
                    fraud=scenario.fraud,
                    rounded_share=scenario.rounded_share,
                    rng=seed + i,
                )
                rep = run_forensics(
                    sim.table, seed=seed + i, resamples=resamples, level=level, methods=methods
                )
                for m, k in count(rep).items():
                    got[m] += k
                for m, p in raw_p(rep).items():
                    pv[m].append(p)
                fam += int(bool(rep.alarms))
                step(f"{name}: {scenario.name}")
            clean = not scenario.fraud and scenario.rounded_share == 0
            ps = {m: tuple(v) for m, v in pv.items()}
            cells.append(_cell(name, scenario.name, clean, reps, fam, got, n, seed, ps))
            if clean:
                for m, k in got.items():
                    pooled[m] += k
                pooled["family"] += fam
                clean_runs += reps
    return CalibrationResult(
        level=level,
        methods=methods,
        cells=tuple(cells),
        false_alarm_rates={
            m: k / clean_runs if clean_runs else math.nan for m, k in pooled.items()
        },
        clean_runs=clean_runs,
        settings={
            "seed": seed,
            "runs": runs,
            "power_runs": power_runs,
            "stations": stations,
            "resamples": resamples,
            "sources": list(sources),
            "clean_controls": list(clean_controls or {}),
        },
    )


def _cell(
    source: str,
    scenario: str,
    clean: bool,
    runs: int,
    family: int,
    alarms: Mapping[str, int],
    stations: int,
    seed: int,
    pvalues: Mapping[str, tuple[float, ...]] | None = None,
) -> CalibrationCell:
    return CalibrationCell(
        source=source,
        scenario=scenario,
        clean=clean,
        runs=runs,
        family=family,
        rate=family / runs,
        interval=clopper_pearson(family, runs),
        alarms=dict(alarms),
        stations=stations,
        seed_start=seed,
        pvalues=dict(pvalues or {}),
    )


def study_from_dict(data: Mapping[str, Any]) -> CalibrationResult:
    """A study back from the JSON that ``saylau calibrate --out`` wrote (to join it)."""
    fields = {f.name for f in dataclasses.fields(CalibrationCell)}
    cells = tuple(
        CalibrationCell(
            **{
                **{k: v for k, v in c.items() if k in fields},
                "interval": tuple(c["interval"]),
                "pvalues": {
                    m: tuple(math.nan if p is None else float(p) for p in v)
                    for m, v in c.get("pvalues", {}).items()
                },
            }
        )
        for c in data["cells"]
    )
    return CalibrationResult(
        level=float(data["level"]),
        methods=tuple(data["methods"]),
        cells=cells,
        false_alarm_rates=dict(data["false_alarm_rates"]),
        clean_runs=int(data["clean_runs"]),
        settings=dict(data["settings"]),
    )


def combine_calibrations(*studies: CalibrationResult) -> CalibrationResult:
    """Join studies of different test methods run with the same settings and seeds.

    Run ``i`` of a cell is the same election in every study (same structure seed, same run
    seed), so the family's alarm of that run is Holm's procedure over the methods' stored
    p-values at the study's level. The studies must agree on level and settings (other than
    the methods), have the same cells and runs, and store every run's p-values.

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election
    >>> real = simulate_election(stations=500, regions=3, rng=2).table
    >>> a = calibrate({"toy": real}, runs=3, power_runs=0, methods=["integer_peaks"])
    >>> both = combine_calibrations(a, a)
    >>> both.methods, both.cell("toy", "clean").runs
    (('integer_peaks',), 3)
    """
    from .battery import holm

    if not studies:
        raise ValueError("no study to combine")
    first = studies[0]
    for other in studies[1:]:
        if other.level != first.level or dict(other.settings) != dict(first.settings):
            raise ValueError("studies differ in level or settings: they cannot be joined")
        if [(c.source, c.scenario, c.runs) for c in other.cells] != [
            (c.source, c.scenario, c.runs) for c in first.cells
        ]:
            raise ValueError("studies differ in their cells or runs: they cannot be joined")
    methods: list[str] = []
    for st in studies:
        methods += [m for m in st.methods if m not in methods]
    cells: list[CalibrationCell] = []
    pooled = dict.fromkeys((*methods, "family"), 0)
    clean_runs = 0
    for j, base in enumerate(first.cells):
        pvals: dict[str, tuple[float, ...]] = {}
        for st in studies:
            for m, v in st.cells[j].pvalues.items():
                if len(v) != base.runs:
                    raise ValueError(f"{base.source} {base.scenario}: {m} lacks per-run p-values")
                pvals.setdefault(m, tuple(v))
        missing = [m for m in methods if m not in pvals]
        if missing:
            raise ValueError(f"{base.source} {base.scenario}: no p-values of {missing}")
        alarms = dict.fromkeys(methods, 0)
        fam = 0
        for i in range(base.runs):
            rejected = holm([pvals[m][i] for m in methods], first.level)
            for m, r in zip(methods, rejected, strict=True):
                alarms[m] += int(r)
            fam += int(any(rejected))
        cells.append(
            _cell(
                base.source,
                base.scenario,
                base.clean,
                base.runs,
                fam,
                alarms,
                base.stations,
                base.seed_start,
                pvals,
            )
        )
        if base.clean:
            for m, k in alarms.items():
                pooled[m] += k
            pooled["family"] += fam
            clean_runs += base.runs
    return CalibrationResult(
        level=first.level,
        methods=tuple(methods),
        cells=tuple(cells),
        false_alarm_rates={
            m: k / clean_runs if clean_runs else math.nan for m, k in pooled.items()
        },
        clean_runs=clean_runs,
        settings=dict(first.settings),
    )


# ------------------------------------------------------------------------------ the stored table
@dataclasses.dataclass(frozen=True)
class StoredCalibration:
    """The measured table shipped with the package (a copy of the one in ``tests/results``)."""

    rates: Mapping[str, float]
    clean_runs: int
    citation: str
    data: Mapping[str, Any]

    def false_alarm_rate(self, method: str) -> float | None:
        """The pooled false-alarm rate of one method on the clean runs (None: not measured)."""
        r = self.rates.get(method)
        return None if r is None or not math.isfinite(r) else float(r)


def read_calibration(path: str | Path) -> StoredCalibration:
    """Read a calibration table written by ``saylau calibrate --out``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return _stored(data)


def _stored(data: Mapping[str, Any]) -> StoredCalibration:
    settings = data.get("settings", {})
    runs = int(data.get("clean_runs", 0))
    return StoredCalibration(
        rates={k: float(v) for k, v in data.get("false_alarm_rates", {}).items() if v is not None},
        clean_runs=runs,
        citation=f"{CALIBRATION_FILE}: {runs} clean runs, seeds from {settings.get('seed', 0)}",
        data=data,
    )


@cache
def stored_calibration() -> StoredCalibration | None:
    """The calibration table shipped with the package, or None when it is absent."""
    try:
        text = resources.files("saylau").joinpath("data/calibration.json").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None
    return _stored(json.loads(text))
