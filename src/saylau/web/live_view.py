"""The live count as the dashboard shows it: shares with intervals, coverage, the comparison.

The store caches each live estimate as JSON (:func:`saylau.store.live.live_estimates`); this
module turns one back into the library's :class:`~saylau.survey.estimates.ShareEstimates` and
asks the library for its intervals and, once official results exist, for its comparison with
them (:func:`saylau.survey.compare.compare_with_official`). Nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..survey.compare import compare_with_official
from ..survey.estimates import ShareEstimates

__all__ = ["estimate_view"]


def _shares(data: Mapping[str, Any]) -> ShareEstimates:
    return ShareEstimates(
        choices=tuple(data["choices"]),
        estimate=np.asarray(data["estimate"], dtype=float),
        cov=np.asarray(data["cov"], dtype=float),
        df=data.get("df"),
        method=str(data.get("method", "")),
        nobs=int(data.get("nobs", 0)),
        n_psu=int(data.get("n_psu", 0)),
        n_strata=int(data.get("n_strata", 0)),
    )


def estimate_view(
    live: Mapping[str, Any] | None,
    names: Mapping[str, str],
    gettext: Callable[[str], str],
) -> dict[str, Any]:
    """Rows (choice, estimate, interval, official), coverage per stratum and the finding.

    Parameters
    ----------
    live : mapping or None
        One entry of ``live_estimates`` (``status``, ``result``, ``official_totals``...).
    names : mapping
        Choice code → display name.
    gettext : callable
        Translates the finding's words.

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
    result = live["result"]
    shares_data = result.get("shares", result)
    est = _shares(shares_data)
    low, high = est.conf_int()
    official = live.get("official_totals")
    rows: list[dict[str, Any]] = []
    finding = None
    if official:
        cmp = compare_with_official(est, {c: float(official.get(c, 0)) for c in est.choices})
        for r in cmp.rows:
            rows.append(
                {
                    "name": names.get(r.choice, r.choice),
                    "estimate": r.estimate,
                    "low": r.ci_low,
                    "high": r.ci_high,
                    "official": r.official,
                    "inside": r.ci_low <= r.official <= r.ci_high,
                }
            )
        text = gettext("Joint test of the official result against the estimate: p = %(p)s.") % {
            "p": f"{cmp.joint.pvalue:.3g}"
        }
        finding = {"alarm": bool(cmp.flagged), "text": text, "caveats": [cmp.caveat]}
    else:
        for i, c in enumerate(est.choices):
            rows.append(
                {
                    "name": names.get(c, c),
                    "estimate": float(est.estimate[i]),
                    "low": float(low[i]),
                    "high": float(high[i]),
                    "official": None,
                    "inside": None,
                }
            )
        finding = {
            "alarm": False,
            "text": _("No official result to compare with yet."),
            "caveats": [],
        }
    strata = [
        {"stratum": s.get("stratum"), "sampled": s.get("sampled"), "reported": s.get("reported")}
        for s in result.get("strata", [])
    ]
    sampled = result.get("stations_sampled") or live.get("sampled") or shares_data.get("nobs")
    reported = result.get("stations_reported", shares_data.get("nobs"))
    return {
        "rows": rows,
        "has_official": bool(official),
        "strata": strata,
        "sampled": sampled,
        "reported": reported,
        "finding": finding,
        "computed_at": str(live.get("computed_at", ""))[:19].replace("T", " "),
        "method": est.method,
    }
