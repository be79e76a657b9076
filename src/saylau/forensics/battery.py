"""Every forensic method on one table, in one call: the report the CLI and the demo print.

Orchestration only: each method lives in its own module and returns its own result; this
module runs them with independent seeded generators, records their warnings instead of
printing them, times them and, with ``by``, repeats the per-unit methods for every unit.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._exceptions import SaylauError
from ..domain.table import ProtocolTable
from ..results import Result, to_jsonable

__all__ = ["run_forensics"]

#: Result fields too bulky for the JSON report (they feed the plots).
_BULKY = {"hist2d", "leader_by_bin", "others_by_bin", "by_region", "cells"}


def _totals(table: ProtocolTable, leader: str) -> dict[str, Any]:
    reg = int(table.registered().sum())
    issued = int(table.issued().sum()) if table.has_issued() else None
    voted = int(table.turnout_ballots().sum())
    cast = int(table.cast().sum())
    lead = int(table.votes(table.choice(leader)).sum())
    return {
        "stations": table.stations,
        "registered": reg,
        "issued": issued,
        "cast": cast,
        "leader": leader,
        "leader_votes": lead,
        "turnout": voted / reg if reg else math.nan,
        "turnout_basis": table.turnout_basis,
        "leader_share": lead / cast if cast else math.nan,
    }


def _default_unit(table: ProtocolTable) -> str | None:
    return "region" if "region" in table.frame.columns else None


def _slim(result: Result) -> dict[str, Any]:
    return {k: v for k, v in result.to_dict().items() if k not in _BULKY}


@contextmanager
def _collect(sink: list[str], where: str) -> Iterator[None]:
    """Record the methods' warnings (and saylau errors) instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = f"{where}: {w.message}"
        if text not in sink:
            sink.append(text)


def _call(
    sink: list[str], where: str, fn: Callable[..., Result], *args: Any, **kwargs: Any
) -> Result | dict[str, str]:
    try:
        with _collect(sink, where):
            return fn(*args, **kwargs)
    except SaylauError as exc:
        return {"error": str(exc)}


def run_forensics(
    table: ProtocolTable,
    *,
    leader: str | None = None,
    by: str | None = None,
    peak_bin: int | None = None,
    seed: int | None = 0,
    resamples: int = 1000,
    on_step: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every forensic method; return the JSON-ready report and the raw results (for plots).

    The report has the keys ``totals``, ``data_quality``, ``integer_peaks``, ``excess_votes``,
    ``fingerprint``, ``coarse_shares``, ``digits``, ``small_counts``, ``warnings``, ``timings``
    (seconds per method; the only part that changes between runs) and, with ``by``,
    ``by_region`` (one entry per unit with every method). Each method gets its own
    generator seeded from ``seed``, so the same seed gives the same report.
    """
    from .. import forensics as fx  # the registry of methods

    step = on_step or (lambda _name: None)
    choice = table.choice(leader) if leader is not None else table.leader()
    sink: list[str] = []
    seeds = np.random.SeedSequence(seed).spawn(8)

    def gen(i: int) -> np.random.Generator:
        return np.random.default_rng(seeds[i])

    results: dict[str, Any] = {}
    report: dict[str, Any] = {"file": table.source, "leader": choice.name}
    report["totals"] = _totals(table, choice.name)
    quality = fx.station_quality(table)
    report["data_quality"] = quality.to_dict()
    step("data quality")

    plan: list[tuple[str, Callable[[], Result | dict[str, str]]]] = [
        (
            "integer_peaks",
            lambda: _call(sink, "integer_peaks", fx.integer_peaks, table, leader=choice, by=by),
        ),
        (
            "excess_votes",
            lambda: _call(
                sink,
                "excess_votes",
                fx.excess_votes,
                table,
                leader=choice,
                peak_bin=peak_bin,
                by=by,
            ),
        ),
        (
            "fingerprint",
            lambda: _call(
                sink,
                "fingerprint",
                fx.fingerprint,
                table,
                leader=choice,
                # the bootstrap is a resampling too: fewer when fewer resamples are asked for
                bootstrap=min(resamples, 50),
                rng=gen(0),
            ),
        ),
        (
            "digits",
            lambda: _call(
                sink,
                "digits",
                fx.digit_tests,
                table,
                by=by or _default_unit(table),
                resamples=resamples,
                rng=gen(1),
            ),
        ),
        ("small_counts", lambda: _call(sink, "small_counts", fx.small_counts, table)),
        (
            "distributions",
            lambda: _call(sink, "distributions", fx.distributions, table, leader=choice),
        ),
    ]
    plan.insert(
        3,
        (
            "coarse_shares",
            lambda: _call(
                sink,
                "coarse_shares",
                fx.coarse_shares,
                table,
                leader=choice.name,
                resamples=resamples,
                rng=gen(2),
            ),
        ),
    )
    timings: dict[str, float] = {}
    for name, run in plan:
        start = time.perf_counter()
        res = run()
        timings[name] = round(time.perf_counter() - start, 3)
        results[name] = res
        if name != "distributions":
            report[name] = _slim(res) if isinstance(res, Result) else res
        step(name)

    if by is not None:
        start = time.perf_counter()
        report["by_region"] = _by_region(
            table, by, choice.name, results, resamples, sink, seeds[3], step
        )
        timings["by_region"] = round(time.perf_counter() - start, 3)
    report["warnings"] = sink
    report["timings"] = timings
    return to_jsonable(report), results


def _by_region(
    table: ProtocolTable,
    by: str,
    leader: str,
    national: Mapping[str, Any],
    resamples: int,
    sink: list[str],
    seed: np.random.SeedSequence,
    step: Callable[[str], None],
) -> dict[str, Any]:
    from .. import forensics as fx  # the registry of methods

    units = table.level_values(by)
    names = sorted({str(u) for u in units})
    out: dict[str, dict[str, Any]] = {name: {} for name in names}
    ip, ev = national.get("integer_peaks"), national.get("excess_votes")
    for r in getattr(ip, "by_region", ()):
        out.setdefault(r.region, {})["integer_peaks"] = r.to_dict()
    for r in getattr(ev, "by_region", ()):
        out.setdefault(r.region, {})["excess_votes"] = r.to_dict()
    dig = national.get("digits")
    rows = getattr(dig, "rows", None)
    if rows is not None:
        for row in rows:
            unit = str(getattr(row, "unit", ""))
            if unit in out:
                out[unit].setdefault("digits", []).append(to_jsonable(row))
    children = seed.spawn(len(names))
    unit_resamples = min(resamples, 200)
    for name, child in zip(names, children, strict=True):
        sub = table.filter(units == name)
        entry = out[name]
        entry["totals"] = _totals(sub, leader)
        g = np.random.default_rng(child)
        fp = _call(
            sink, f"{name}: fingerprint", fx.fingerprint, sub, leader=leader, fit=False, rng=g
        )
        entry["fingerprint"] = _slim(fp) if isinstance(fp, Result) else fp
        cs = _call(
            sink,
            f"{name}: coarse_shares",
            fx.coarse_shares,
            sub,
            leader=leader,
            resamples=unit_resamples,
            rng=g,
        )
        entry["coarse_shares"] = _slim(cs) if isinstance(cs, Result) else cs
        sc = _call(sink, f"{name}: small_counts", fx.small_counts, sub)
        entry["small_counts"] = _slim(sc) if isinstance(sc, Result) else sc
    step("by region")
    return out
