"""The live count as the dashboard shows it: shares with intervals, coverage, the comparison.

The store computes and caches each live estimate (:func:`saylau.store.live.live_estimates`):
the library's share table with its intervals (``ShareEstimates.table``) and, once official
results exist, the library's comparison with them (``compare_with_official``). This module
only arranges those figures for the template; nothing is computed here.

Examples
--------
>>> live = {"status": "ok", "stations_sampled": 4, "stations_reported": 3, "strata": [],
...         "shares": [{"choice": "a", "estimate": 0.6, "ci_low": 0.5, "ci_high": 0.7}],
...         "comparison": None, "computed_at": "2026-12-06T20:00:00+00:00"}
>>> view = estimate_view(live, {"a": "A"}, lambda s: s)
>>> view["rows"][0]["name"], view["rows"][0]["low"], view["reported"], view["sampled"]
('A', 0.5, 3, 4)
>>> estimate_view({"status": "no quick-count sample imported"}, {}, lambda s: s)["note"]
'No sample imported yet.'
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["estimate_view"]


def estimate_view(
    live: Mapping[str, Any] | None,
    names: Mapping[str, str],
    gettext: Callable[[str], str],
) -> dict[str, Any]:
    """Rows (choice, estimate, interval, official), coverage per stratum and the finding.

    Parameters
    ----------
    live : mapping or None
        One entry of ``live_estimates`` (``status``, ``shares``, ``comparison``...).
    names : mapping
        Choice code → display name.
    gettext : callable
        Translates the words around the figures.

    Returns
    -------
    dict
        ``rows`` is None (and ``note`` says why) while nothing can be shown yet.
    """
    _ = gettext
    live = live or {}
    status = live.get("status")
    if status != "ok":
        if not live or "sample imported" in str(status):
            note = _("No sample imported yet.")
        elif "reason" in live:
            note = _("Not estimable yet: %(reason)s") % {"reason": live["reason"]}
        else:
            note = _("Not computed yet: no report from the sample has arrived.")
        return {"rows": None, "note": note}
    comparison = live.get("comparison")
    official = {r["choice"]: r for r in (comparison or {}).get("rows", [])}
    rows = []
    for r in live.get("shares", []):
        off = official.get(r["choice"])
        rows.append(
            {
                "name": names.get(r["choice"], r["choice"]),
                "estimate": r["estimate"],
                "low": r["ci_low"],
                "high": r["ci_high"],
                "official": None if off is None else off["official"],
                "inside": None
                if off is None
                else off["ci_low"] <= off["official"] <= off["ci_high"],
            }
        )
    if comparison:
        pvalue = (comparison.get("joint") or {}).get("pvalue")
        text = _("Joint test of the official result against the estimate: p = %(p)s.") % {
            # None: the reports could not carry the test ("not tested", never p = 0)
            "p": "—" if pvalue is None else f"{pvalue:.3g}"
        }
        finding = {
            "alarm": bool(comparison["flagged"]),
            "text": text,
            "caveats": [comparison["caveat"]] if comparison.get("caveat") else [],
        }
    else:
        finding = {
            "alarm": False,
            "text": _("No official result to compare with yet."),
            "caveats": [],
        }
    strata = [
        {"stratum": s.get("stratum"), "sampled": s.get("sampled"), "reported": s.get("reported")}
        for s in live.get("strata", [])
    ]
    return {
        "rows": rows,
        "has_official": bool(comparison),
        "strata": strata,
        "sampled": live.get("stations_sampled"),
        "reported": live.get("stations_reported"),
        "finding": finding,
        "computed_at": str(live.get("computed_at", ""))[:19].replace("T", " "),
    }


def headcount_view(
    check: Mapping[str, Any],
    scope: Collection[str] | None,
    gettext: Callable[[str], str],
) -> dict[str, Any]:
    """The head-count comparison for the dashboard: the national excess with its interval, the
    finding with its caveats, and the flagged stations inside the viewer's scope.

    Examples
    --------
    >>> headcount_view({"status": "no head count yet"}, None, str)["note"]
    'No head count yet.'
    """
    _ = gettext
    status = check.get("status")
    if status != "ok":
        if status == "no head count yet":
            note = _("No head count yet.")
        elif "reason" in check:
            note = _("Not estimable yet: %(reason)s") % {"reason": check["reason"]}
        else:
            note = _("No protocol to compare the head counts with yet.")
        return {"rows": None, "note": note}
    finding = check.get("finding") or {}
    basis = {
        "official protocols": _("official protocols"),
        "observers' agreed protocol copies": _("observers' agreed protocol copies"),
    }.get(check["basis"], check["basis"])
    return {
        "rows": [
            r
            for r in check.get("flagged_stations", [])
            if scope is None or r.get("station") in scope
        ],
        "excess": check["excess"],
        "low": check["ci95"][0],
        "high": check["ci95"][1],
        "tested": check["tested"],
        "pairs": check["pairs"],
        "basis": basis,
        "finding": {
            "alarm": bool(finding.get("alarm")),
            "text": _(
                "Ballots issued in the station beyond the observers' head counts, against the "
                "%(basis)s; p = %(p)s (one-sided)."
            )
            % {"basis": basis, "p": f"{check['pvalue']:.3g}"},
            "caveats": list(finding.get("caveats", [])),
            "false_alarms": None
            if finding.get("false_alarm_rate") is None
            else _(
                "Measured false-alarm rate on simulated clean elections at this level: "
                "%(rate)s (%(study)s)."
            )
            % {"rate": f"{finding['false_alarm_rate']:.1%}", "study": finding.get("calibration")},
        },
    }
