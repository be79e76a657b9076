"""Every forensic method on one table, in one call: the report the CLI, the demo and the plots use.

Orchestration only: each method lives in its own module and returns its own result with its own
:class:`~saylau.results.Finding`; this module runs the methods of one registry
(:data:`REGISTRY`: name, label, kind, how to call it) with independent seeded generators,
records their warnings instead of printing them, times them, and decides the family's alarms:
the p-values of the ``test`` methods are corrected together by Holm's procedure so that the
chance of any false alarm in one run stays at ``level`` (1% by default). ``screen`` and
``model`` results never raise an alarm. With ``by``, the per-unit results are repeated for every
unit, with Holm-corrected p-values across the units tested.

The result is a frozen :class:`ForensicsReport`; ``report.to_dict()`` is the JSON of
``saylau forensics --json`` (the keys of the forensics issue, plus per method ``alarm``,
``level``, ``caveats`` and ``finding``, and at the top ``alarms``, ``level`` and
``correction``).

Examples
--------
>>> from saylau.forensics.simulate import simulate_election
>>> table = simulate_election(stations=800, regions=3, rng=4).table
>>> rep = run_forensics(table, methods=("integer_peaks", "excess_votes"), seed=1)
>>> rep.alarms, rep.level
((), 0.01)
>>> rep.finding("excess_votes").kind
'test'
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._exceptions import SaylauError, SaylauInputError
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result, to_jsonable
from ._stations import StationQuality, station_quality
from .calibrate import stored_calibration

__all__ = [
    "REGISTRY",
    "ForensicsReport",
    "MethodError",
    "MethodOutcome",
    "MethodSpec",
    "Totals",
    "UnitReport",
    "UnitTests",
    "holm",
    "run_forensics",
]

#: Result fields too bulky for the JSON report (they feed the plots).
_BULKY = {"hist2d", "leader_by_bin", "others_by_bin", "by_region", "cells", "finding"}

#: The default family-wise false-alarm level of one run (Kobak's threshold is the null's 99.9th
#: percentile for one test; over the family, one false alarm costs more than a missed one).
DEFAULT_LEVEL = 0.01

DATA_QUALITY_CAVEAT = (
    "declared station rules: rows kept out or flagged are counted, not evidence of anything"
)


# --------------------------------------------------------------------------- small records
@dataclasses.dataclass(frozen=True)
class Totals(Result):
    """National (or unit) totals: stations, registered, issued, cast, the leader's votes."""

    stations: int
    registered: int
    issued: int | None
    cast: int
    leader: str
    leader_votes: int
    turnout: float
    leader_share: float
    #: What turnout counts (see :meth:`saylau.domain.table.ProtocolTable.turnout_ballots`).
    turnout_basis: str = ""


def _totals(table: ProtocolTable, leader: str) -> Totals:
    reg = int(table.registered().sum())
    issued = int(table.issued().sum()) if table.has_issued() else None
    voted = int(table.turnout_ballots().sum())
    cast = int(table.cast().sum())
    lead = int(table.votes(table.choice(leader)).sum())
    return Totals(
        stations=table.stations,
        registered=reg,
        issued=issued,
        cast=cast,
        leader=leader,
        leader_votes=lead,
        turnout=voted / reg if reg else math.nan,
        leader_share=lead / cast if cast else math.nan,
        turnout_basis=table.turnout_basis,
    )


@dataclasses.dataclass(frozen=True)
class MethodError(Result):
    """A method that could not run on this table (the saylau error's one line)."""

    error: str


@dataclasses.dataclass(frozen=True)
class _Context:
    table: ProtocolTable
    leader: Choice
    by: str | None
    peak_bin: int | None
    resamples: int
    rng: np.random.Generator


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """One entry of the registry: the method's JSON name, its label, its kind and its call.

    ``kind`` is the kind of finding the method gives (``test``, ``screen`` or ``model``); it is
    used when a result carries no finding of its own, and to choose the methods a calibration
    run needs (only tests can raise an alarm). ``stream`` is the index of the method's own
    random stream (spawned from the run's seed).
    """

    name: str
    label: str
    kind: str
    call: Callable[[_Context], Result]
    stream: int | None = None


def _default_unit(table: ProtocolTable) -> str | None:
    return "region" if "region" in table.frame.columns else None


def _fx() -> Any:
    from .. import forensics  # the methods, imported late (this module is part of the package)

    return forensics


REGISTRY: tuple[MethodSpec, ...] = (
    MethodSpec(
        "integer_peaks",
        "integer percentages",
        "test",
        lambda c: _fx().integer_peaks(c.table, leader=c.leader, by=c.by),
    ),
    MethodSpec(
        "excess_votes",
        "Shpilkin excess votes",
        "test",
        lambda c: _fx().excess_votes(c.table, leader=c.leader, peak_bin=c.peak_bin, by=c.by),
    ),
    MethodSpec(
        "fingerprint",
        "fingerprint fraud model",
        "model",
        # the bootstrap is a resampling too: fewer when fewer resamples are asked for
        lambda c: _fx().fingerprint(
            c.table, leader=c.leader, bootstrap=min(c.resamples, 50), rng=c.rng
        ),
        stream=0,
    ),
    MethodSpec(
        "coarse_shares",
        "coarse vote shares",
        "screen",
        lambda c: _fx().coarse_shares(
            c.table, leader=c.leader.name, resamples=c.resamples, rng=c.rng
        ),
        stream=2,
    ),
    MethodSpec(
        "digits",
        "digit tests",
        "screen",
        lambda c: _fx().digit_tests(
            c.table, by=c.by or _default_unit(c.table), resamples=c.resamples, rng=c.rng
        ),
        stream=1,
    ),
    MethodSpec(
        "small_counts",
        "small counts",
        "test",
        lambda c: _fx().small_counts(c.table, leader=c.leader),
    ),
    MethodSpec(
        "distributions",
        "distributions",
        "screen",
        lambda c: _fx().distributions(c.table, leader=c.leader),
    ),
)


# --------------------------------------------------------------------------- provisional findings
def _provisional(name: str, result: Result, kind: str) -> Finding:
    """A finding for a result that does not carry one yet (the methods that will)."""
    caveat = str(getattr(result, "caveat", "") or "")
    if name == "integer_peaks":
        p = getattr(result, "pvalue", None)
        return Finding(
            alarm=False,
            kind="test",
            pvalue=float(p) if p is not None and math.isfinite(p) else None,
            caveats=(
                "more round turnouts or leader shares than honest counting gives: a trace of "
                "drawn protocols, not a count of changed votes",
            ),
        )
    if name == "coarse_shares":
        return Finding(
            alarm=False,
            kind="screen",
            caveats=(
                "a screen: its resampling null is not calibrated on clean elections (p swings "
                "with the seed on the clean Polish control)",
            ),
        )
    return Finding(alarm=False, kind=kind if kind != "test" else "screen", caveats=(caveat,))


def _finding_of(spec: MethodSpec, result: Result, sink: list[str]) -> Finding:
    f = getattr(result, "finding", None)
    if isinstance(f, Finding):
        if f.kind == "test" and spec.kind != "test":
            # the registry holds what saylau's calibration study supports: a method whose own
            # test rings on clean elections is demoted, with the reason, never an alarm
            reason = _DEMOTED.get(spec.name, "its test is not calibrated on clean elections")
            return dataclasses.replace(
                f, kind=spec.kind, alarm=False, caveats=(*f.caveats, f"not an alarm: {reason}")
            )
        return f
    return _provisional(spec.name, result, spec.kind)


#: Why a method's own test does not enter the family alarm (see the calibration study).
_DEMOTED = {
    "coarse_shares": (
        "its resampling test is checked on 30 simulations only, not in saylau's calibration "
        "study; it is read as a screen"
    ),
}


def holm(pvalues: Sequence[float], level: float) -> list[bool]:
    """Holm's step-down rejections at family-wise ``level`` (NaN p-values never reject).

    >>> holm([0.001, 0.04, 0.3], 0.05)
    [True, False, False]
    >>> holm([0.001, 0.02, 0.3], 0.05)
    [True, True, False]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = int(np.isfinite(p).sum())
    out = [False] * p.size
    order = np.argsort(np.where(np.isfinite(p), p, np.inf), kind="stable")
    for j, i in enumerate(order[:m]):
        if p[i] <= level / (m - j):
            out[int(i)] = True
        else:
            break
    return out


def holm_adjusted(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (NaN stays NaN).

    >>> [round(x, 3) for x in holm_adjusted([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    fin = np.flatnonzero(np.isfinite(p))
    m = fin.size
    out = np.full(p.size, np.nan)
    order = fin[np.argsort(p[fin], kind="stable")]
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * float(p[i])))
        out[i] = running
    return [float(x) for x in out]


# --------------------------------------------------------------------------- report records
@dataclasses.dataclass(frozen=True)
class MethodOutcome:
    """One method's result (or error), its finding in this run, and its time in seconds."""

    name: str
    label: str
    result: Result
    finding: Finding
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the method ran (its result is not a :class:`MethodError`)."""
        return not isinstance(self.result, MethodError)


@dataclasses.dataclass(frozen=True)
class UnitTests(Result):
    """A per-unit test of one method across the units: p-values corrected together.

    ``pvalues`` and ``adjusted`` map each tested unit to its raw and Holm-adjusted p-value;
    ``flagged`` lists the units whose adjusted p-value is at most ``level`` (only for a method
    of kind ``test``: a screen's units are listed, never flagged).
    """

    method: str
    kind: str
    units_tested: int
    correction: str
    level: float
    pvalues: Mapping[str, float]
    adjusted: Mapping[str, float]
    flagged: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class UnitReport(Result):
    """Every per-unit result of one unit (``--by region``)."""

    unit: str
    totals: Totals
    results: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ForensicsReport(Result):
    """The battery's report: every method's result and finding, and the family's alarms.

    Attributes
    ----------
    file, leader : str
    totals : Totals
    data_quality : StationQuality
    data_quality_finding : Finding
    outcomes : tuple of MethodOutcome
        In the registry's order.
    level : float
        Family-wise false-alarm level of the run.
    correction : str
        How the test methods' p-values were corrected together.
    alarms : tuple of str
        Names of the methods whose alarm is raised.
    by : str or None
    units : tuple of UnitReport
    unit_tests : tuple of UnitTests
    warnings : tuple of str
    timings : mapping of str to float
    """

    file: str | None
    leader: str
    totals: Totals
    data_quality: StationQuality
    data_quality_finding: Finding
    outcomes: tuple[MethodOutcome, ...]
    level: float
    correction: str
    alarms: tuple[str, ...]
    by: str | None
    units: tuple[UnitReport, ...]
    unit_tests: tuple[UnitTests, ...]
    warnings: tuple[str, ...]
    timings: Mapping[str, float]

    def outcome(self, name: str) -> MethodOutcome:
        """The outcome of one method by its registry name."""
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(name)

    def finding(self, name: str) -> Finding:
        """The finding of one method in this run (``data_quality`` included)."""
        if name == "data_quality":
            return self.data_quality_finding
        return self.outcome(name).finding

    @property
    def results(self) -> dict[str, Result]:
        """Every result that ran, by method name (what the plots read)."""
        return {o.name: o.result for o in self.outcomes if o.ok}

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``saylau forensics --json``."""
        out: dict[str, Any] = {"file": self.file, "leader": self.leader}
        out["totals"] = self.totals.to_dict()
        out["data_quality"] = {
            **self.data_quality.to_dict(),
            **_finding_keys(self.data_quality_finding),
        }
        for o in self.outcomes:
            if o.name == "distributions":
                continue  # histograms: for the plots, too bulky for the JSON
            body = (
                {k: v for k, v in o.result.to_dict().items() if k not in _BULKY}
                if o.ok
                else o.result.to_dict()
            )
            out[o.name] = {**body, **_finding_keys(o.finding)}
        out["alarms"] = list(self.alarms)
        out["level"] = self.level
        out["correction"] = self.correction
        if self.by is not None:
            out["by_region"] = {
                u.unit: {"totals": u.totals.to_dict(), **to_jsonable(u.results)} for u in self.units
            }
            out["by_region_tests"] = {t.method: t.to_dict() for t in self.unit_tests}
        out["warnings"] = list(self.warnings)
        out["timings"] = dict(self.timings)
        result: dict[str, Any] = to_jsonable(out)
        return result


def _slim(result: Result) -> dict[str, Any]:
    return {k: v for k, v in result.to_dict().items() if k not in _BULKY}


def _finding_keys(f: Finding) -> dict[str, Any]:
    return {
        "alarm": f.alarm,
        "level": f.level,
        "caveats": list(f.caveats),
        "finding": f.to_dict(),
    }


# --------------------------------------------------------------------------- running
@contextmanager
def _collect(sink: list[str], where: str) -> Iterator[None]:
    """Record the methods' warnings instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = f"{where}: {w.message}"
        if text not in sink:
            sink.append(text)


def _call(
    sink: list[str], where: str, fn: Callable[..., Result], *args: Any, **kwargs: Any
) -> Result:
    try:
        with _collect(sink, where):
            return fn(*args, **kwargs)
    except SaylauError as exc:
        return MethodError(error=str(exc))


def _calibrated(f: Finding, name: str, level: float, correction: str, alarm: bool) -> Finding:
    """The finding as this run decides it: the family's level, correction and measured rate."""
    if f.kind != "test":
        return dataclasses.replace(f, alarm=False, level=level, correction="none")
    table = stored_calibration()
    rate = table.false_alarm_rate(name) if table is not None else None
    cited = "; ".join(x for x in (table.citation if table else "", f.calibration) if x)
    return dataclasses.replace(
        f,
        alarm=alarm,
        level=level,
        correction=correction,
        false_alarm_rate=rate if rate is not None else f.false_alarm_rate,
        calibration=cited,
    )


def run_forensics(
    table: ProtocolTable,
    *,
    leader: str | None = None,
    by: str | None = None,
    peak_bin: int | None = None,
    seed: int | None = 0,
    resamples: int = 1000,
    level: float = DEFAULT_LEVEL,
    methods: Sequence[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ForensicsReport:
    """Run the registry's methods; decide the family's alarms at ``level``.

    Parameters
    ----------
    table : ProtocolTable
    leader : str, optional
        The choice studied (the contender with most votes by default).
    by : str, optional
        Also run the per-unit methods for every unit of this level.
    peak_bin : int, optional
        Shpilkin's clean peak bin (automatic by default).
    seed : int, optional
        Every method gets its own generator spawned from it: same seed, same report.
    resamples : int
        Resamples where a method resamples.
    level : float
        Family-wise false-alarm level of the run: Holm's procedure over the p-values of the
        ``test`` methods.
    methods : sequence of str, optional
        Run only these methods of :data:`REGISTRY` (all by default).
    on_step : callable, optional
        Called with each method's name when it is done (a progress bar).

    Returns
    -------
    ForensicsReport

    Raises
    ------
    SaylauInputError
        When ``level`` is not in (0, 1) or a method name is unknown.
    """
    if not 0 < level < 1:
        raise SaylauInputError("level must be in (0, 1)", field="level", found=level)
    names = [s.name for s in REGISTRY]
    wanted = names if methods is None else list(methods)
    unknown = [m for m in wanted if m not in names]
    if unknown:
        raise SaylauInputError(
            "unknown forensic method", field="methods", expected=" | ".join(names), found=unknown
        )
    step = on_step or (lambda _name: None)
    choice = table.choice(leader) if leader is not None else table.leader()
    sink: list[str] = []
    seeds = np.random.SeedSequence(seed).spawn(8)
    quality = station_quality(table)
    step("data quality")

    raw: list[tuple[MethodSpec, Result, Finding, float]] = []
    timings: dict[str, float] = {}
    for spec in REGISTRY:
        if spec.name not in wanted:
            continue
        ctx = _Context(
            table=table,
            leader=choice,
            by=by,
            peak_bin=peak_bin,
            resamples=resamples,
            rng=np.random.default_rng(seeds[spec.stream if spec.stream is not None else 7]),
        )
        start = time.perf_counter()
        res = _call(sink, spec.name, spec.call, ctx)
        seconds = round(time.perf_counter() - start, 3)
        timings[spec.name] = seconds
        if isinstance(res, MethodError):
            f = Finding(alarm=False, kind="screen", caveats=(f"did not run: {res.error}",))
        else:
            f = _finding_of(spec, res, sink)
        raw.append((spec, res, f, seconds))
        step(spec.name)

    tests = [(s.name, f) for s, _r, f, _t in raw if f.kind == "test"]
    pvals = [family_pvalue(f) for _n, f in tests]
    rejected = dict(zip([n for n, _f in tests], holm(pvals, level), strict=True))
    test_names = ", ".join(n for n, _f in tests) or "none"
    plural = "" if len(tests) == 1 else "s"
    correction = f"Holm over {len(tests)} test method{plural}: {test_names}"
    outcomes = tuple(
        MethodOutcome(
            name=s.name,
            label=s.label,
            result=r,
            finding=_calibrated(f, s.name, level, correction, rejected.get(s.name, False)),
            seconds=t,
        )
        for s, r, f, t in raw
    )
    units: tuple[UnitReport, ...] = ()
    unit_tests: tuple[UnitTests, ...] = ()
    if by is not None:
        start = time.perf_counter()
        units, unit_tests = _by_unit(
            table, by, choice.name, outcomes, resamples, level, sink, seeds[3], wanted
        )
        timings["by_region"] = round(time.perf_counter() - start, 3)
        step("by region")
    return ForensicsReport(
        file=table.source,
        leader=choice.name,
        totals=_totals(table, choice.name),
        data_quality=quality,
        data_quality_finding=Finding(
            alarm=False, kind="screen", level=level, caveats=(DATA_QUALITY_CAVEAT,)
        ),
        outcomes=outcomes,
        level=level,
        correction=correction,
        alarms=tuple(o.name for o in outcomes if o.finding.alarm),
        by=by,
        units=units,
        unit_tests=unit_tests,
        warnings=tuple(sink),
        timings=timings,
    )


def family_pvalue(f: Finding) -> float:
    """A test's p-value for Holm; a test that gives none counts only through its own alarm."""
    if f.pvalue is not None and math.isfinite(f.pvalue):
        return float(f.pvalue)
    return float(f.level) if f.alarm else 1.0


def _unit_tests(method: str, kind: str, pvalues: Mapping[str, float], level: float) -> UnitTests:
    names = [u for u, p in pvalues.items() if math.isfinite(p)]
    adj = holm_adjusted([pvalues[u] for u in names])
    adjusted = dict(zip(names, adj, strict=True))
    return UnitTests(
        method=method,
        kind=kind,
        units_tested=len(names),
        correction=f"Holm over {len(names)} units",
        level=level,
        pvalues={u: pvalues[u] for u in names},
        adjusted=adjusted,
        flagged=tuple(u for u in names if kind == "test" and adjusted[u] <= level),
    )


def _by_unit(
    table: ProtocolTable,
    by: str,
    leader: str,
    national: Sequence[MethodOutcome],
    resamples: int,
    level: float,
    sink: list[str],
    seed: np.random.SeedSequence,
    wanted: Sequence[str],
) -> tuple[tuple[UnitReport, ...], tuple[UnitTests, ...]]:
    fx = _fx()
    units = table.level_values(by)
    names = sorted({str(u) for u in units})
    per: dict[str, dict[str, Any]] = {name: {} for name in names}
    res = {o.name: o.result for o in national}
    kinds = {o.name: o.finding.kind for o in national}
    pvals: dict[str, dict[str, float]] = {}
    for r in getattr(res.get("integer_peaks"), "by_region", ()):
        per.setdefault(r.region, {})["integer_peaks"] = r
        pvals.setdefault("integer_peaks", {})[r.region] = float(r.pvalue)
    for r in getattr(res.get("excess_votes"), "by_region", ()):
        per.setdefault(r.region, {})["excess_votes"] = r
        if math.isfinite(r.pvalue):  # the within-unit slope inside the region's own units
            pvals.setdefault("excess_votes", {})[r.region] = float(r.pvalue)
    rows = getattr(res.get("digits"), "rows", None)
    if rows is not None:
        for row in rows:
            unit = str(getattr(row, "unit", ""))
            if unit in per:
                per[unit].setdefault("digits", []).append(row)
    children = seed.spawn(len(names))
    unit_resamples = min(resamples, 200)
    slims: dict[str, dict[str, Any]] = {}
    totals: dict[str, Totals] = {}
    for name, child in zip(names, children, strict=True):
        sub = table.filter(units == name)
        entry = per[name]
        g = np.random.default_rng(child)
        if "fingerprint" in wanted:
            entry["fingerprint"] = _call(
                sink, f"{name}: fingerprint", fx.fingerprint, sub, leader=leader, fit=False, rng=g
            )
        if "coarse_shares" in wanted:
            cs = _call(
                sink,
                f"{name}: coarse_shares",
                fx.coarse_shares,
                sub,
                leader=leader,
                resamples=unit_resamples,
                rng=g,
            )
            entry["coarse_shares"] = cs
            p = getattr(cs, "pvalue", None)
            if p is not None:
                pvals.setdefault("coarse_shares", {})[name] = float(p)
        if "small_counts" in wanted:
            entry["small_counts"] = _call(sink, f"{name}: small_counts", fx.small_counts, sub)
        slims[name] = {k: (_slim(r) if isinstance(r, Result) else r) for k, r in entry.items()}
        totals[name] = _totals(sub, leader)
    tests = tuple(
        _unit_tests(m, kinds.get(m, "screen"), p, level) for m, p in sorted(pvals.items())
    )
    for t in tests:  # each unit's p-value next to its corrected one
        for unit, adjusted in t.adjusted.items():
            body = slims.get(unit, {}).get(t.method)
            if isinstance(body, dict):
                body.update(
                    pvalue_adjusted=adjusted,
                    correction=t.correction,
                    units_tested=t.units_tested,
                )
    reports = tuple(UnitReport(unit=n, totals=totals[n], results=slims[n]) for n in names)
    return reports, tests
