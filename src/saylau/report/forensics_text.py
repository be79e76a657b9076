"""The battery's report as lines of text: each figure with its interval and its finding.

One rendering for the terminal (``saylau forensics``), the demo and anything else that prints a
:class:`~saylau.forensics.battery.ForensicsReport`: every line carries the method's figure, its
interval where it has one, and its finding (alarm or "no alarm", level, correction, measured
false-alarm rate, caveats). No statistics here: the numbers are read from the results.

Examples
--------
>>> from saylau.forensics.simulate import simulate_election
>>> from saylau.forensics.battery import run_forensics
>>> rep = run_forensics(simulate_election(stations=600, rng=3).table,
...                     methods=("integer_peaks",), seed=0)
>>> lines = report_lines(rep)
>>> lines[-1].startswith("no alarm at family-wise level 0.01")
True
"""

from __future__ import annotations

import functools
import math
from typing import Any

from ..forensics.battery import ForensicsReport

__all__ = ["method_line", "report_lines"]


def _fmt(x: Any, spec: str = ",.1f") -> str:
    if isinstance(x, int | float) and not (isinstance(x, float) and not math.isfinite(x)):
        return format(x, spec)
    return "—" if x is None else str(x)


def _interval(ci: Any, spec: str = ".3f") -> str:
    """`` [lo, hi]`` for a two-number interval, empty otherwise."""
    if (
        isinstance(ci, list | tuple)
        and len(ci) == 2
        and all(isinstance(v, int | float) and math.isfinite(v) for v in ci)
    ):
        return f" [{format(ci[0], spec)}, {format(ci[1], spec)}]"
    return ""


def _figure(name: str, r: Any) -> str:
    """The method's headline figure with its interval (read from the result, no statistics)."""
    g = functools.partial(getattr, r)
    if name == "integer_peaks":
        ex, sd = g("excess_stations", math.nan), g("null_sd", math.nan)
        return (
            f"excess {_fmt(ex, '+,.0f')} stations at integer percentages"
            f"{_interval((ex - 1.96 * sd, ex + 1.96 * sd), ',.0f')} (null sd {_fmt(sd, ',.0f')}), "
            f"z = {_fmt(g('z', None), '.2f')}, p = {_fmt(g('pvalue', None), '.2g')}"
        )
    if name == "excess_votes":
        est, se = g("estimate", math.nan), g("std_err", math.nan)
        lo, hi = g("sensitivity_range", (math.nan, math.nan))
        ci = _interval((est - 1.96 * se, est + 1.96 * se), ",.0f")
        return (
            f"{_fmt(est, ',.0f')} anomalous votes{ci} at peak bin {g('peak_bin', '—')}; "
            f"peak ±3 bins {_fmt(lo, ',.0f')} … {_fmt(hi, ',.0f')}"
        )
    if name == "fingerprint":
        head = f"τ {_fmt(g('tau', None), '.3f')} ν {_fmt(g('nu', None), '.3f')}"
        if g("f_i", None) is None:
            return head + "; fraud model not fitted"
        return (
            f"{head}; model f_i {_fmt(g('f_i_corrected', None), '.3f')}"
            f"{_interval(g('f_i_ci', None))} f_e {_fmt(g('f_e_corrected', None), '.3f')}"
            f"{_interval(g('f_e_ci', None))}"
        )
    if name == "coarse_shares":
        text = f"excess coarse shares {_fmt(g('fraud_pct', None), '.2f')}% of stations"
        spread = g("fraud_pct_ci", None) or g("fraud_pct_interval", None)
        return text + _interval(spread, ".2f") + f", p = {_fmt(g('pvalue', None), '.2g')}"
    if name == "digits":
        dep = g("departures", {})
        n_dep = sum(d for d, _n in dep.values())
        n_all = sum(n for _d, n in dep.values())
        return f"{n_dep:,} of {n_all:,} unit × statistic cells depart from the reference"
    if name == "small_counts":
        return (
            f"{len(g('flagged', ()))} of {_fmt(g('ntests', None), ',')} commission × choice "
            f"tests flagged (BH {_fmt(g('fdr', None), '.0%')})"
        )
    return ""


def method_line(report: ForensicsReport, name: str) -> str:
    """One method's line: label, figure with its interval, then its finding's headline."""
    o = report.outcome(name)
    if not o.ok:
        return f"{o.label}: {getattr(o.result, 'error', '')}"
    return f"{o.label}: {_figure(o.name, o.result)} — {o.finding.headline()}"


def report_lines(report: ForensicsReport) -> list[str]:
    """The whole report as plain lines (totals, station rules, methods, units, alarms)."""
    t = report.totals
    out = [
        f"{report.file or 'table'}: {t.stations:,} stations, {t.registered:,} registered, "
        f"turnout {100 * t.turnout:.2f}%, {t.leader} {100 * t.leader_share:.2f}%",
        "station rules: "
        + ", ".join(f"{k} {v:,}" for k, v in report.data_quality.counts.items())
        + f" — {report.data_quality_finding.headline()}",
    ]
    out += [method_line(report, o.name) for o in report.outcomes if o.name != "distributions"]
    for u in report.unit_tests:
        out.append(
            f"per {report.by} ({u.method}): {u.units_tested} units tested, {u.correction}; "
            + (f"flagged: {', '.join(u.flagged)}" if u.flagged else "none flagged")
            + ("" if u.kind == "test" else " (a screen: never flagged)")
        )
    if report.alarms:
        out.append(
            f"ALARM at family-wise level {report.level:g} ({report.correction}): "
            + ", ".join(report.alarms)
        )
    else:
        out.append(f"no alarm at family-wise level {report.level:g} ({report.correction})")
    return out
