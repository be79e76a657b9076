"""Observers' head counts in the service: read them out as the library's table and compare them
with the protocols (issue "fake voters and padded turnout").

Observers submit ``headcount`` events (:func:`saylau.store.submissions.submit`): the voters
they saw entering the station by each checkpoint, cumulative since the opening, and the
commission's announced intermediate figure where there is one. Corrections replace earlier
versions; the current versions become one :class:`~saylau.turnout.headcount.HeadCounts` table,
one row per station, observer and checkpoint. The observer column carries an opaque number per
account (never a name): the method only needs to tell two observers of one station apart.

The comparison is :func:`saylau.turnout.headcount.turnout_excess` (no statistics here), against
the official protocols when a snapshot was imported, else against the observers' own agreed
protocol copies (the basis is stated in the result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from .._exceptions import SaylauError
from ..results import to_jsonable
from ..turnout.headcount import HeadCounts, head_counts_from_frame, turnout_excess
from .reconcile import consensus_table, official_table
from .submissions import current_versions

__all__ = ["head_counts", "turnout_check"]


def head_counts(session: Session, stations: Sequence[str] | None = None) -> HeadCounts:
    """The current head counts as the library's table (rows numbered by submission id).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from saylau.store import Database
    >>> folder = tempfile.mkdtemp()
    >>> db = Database.open(f"sqlite:///{pathlib.Path(folder) / 'doc.db'}")
    >>> with db.read() as s:
    ...     head_counts(s).frame.height, turnout_check(s)["status"]
    (0, 'no head count yet')
    >>> db.close()
    """
    rows: dict[str, list[str]] = {
        k: [] for k in ("station", "observer", "checkpoint", "count", "official")
    }
    numbers: list[int] = []
    for sub in current_versions(session, "headcount", stations):
        for r in sub.body.get("readings", []):
            rows["station"].append(sub.station)
            rows["observer"].append(str(sub.account_id))
            rows["checkpoint"].append(str(r.get("checkpoint", "")))
            rows["count"].append(str(r.get("count", "")))
            official = r.get("official")
            rows["official"].append("" if official is None else str(official))
            numbers.append(sub.id)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows, pl.Utf8)).with_columns(
        pl.Series("__row", numbers, dtype=pl.Int64)
    )
    return head_counts_from_frame(frame, source="head-count submissions")


def turnout_check(session: Session, *, level: float = 0.01) -> dict[str, Any]:
    """Head counts against the protocols, as JSON for the API and the dashboard.

    ``status`` says why there is no result yet (no head count, no protocol to compare with, too
    few double counts to estimate the counting error).
    """
    counts = head_counts(session)
    if counts.frame.height == 0:
        return {"status": "no head count yet"}
    basis = "official protocols"
    table = official_table(session)
    if table is None:
        basis = "observers' agreed protocol copies"
        table = consensus_table(session)
    if table.stations == 0:
        return {"status": "no protocol to compare with yet", "basis": basis}
    try:
        res = turnout_excess(table, counts, level=level)
    except (SaylauError, ValueError) as exc:
        return {"status": "not estimable yet", "reason": str(exc), "basis": basis}
    low, high = res.conf_int()
    stations = res.stations.filter(pl.col("flagged")).sort("pvalue").head(50)
    return {
        "status": "ok",
        "basis": basis,
        "excess": res.estimate,
        "std_err": res.std_err,
        "ci95": [low, high],
        "pvalue": res.pvalue,
        "tested": res.tested,
        "pairs": res.pairs,
        "sigma": res.sigma,
        "issued_rule": res.issued_rule,
        "correction": res.correction,
        "flagged": list(res.flagged),
        "flagged_stations": stations.to_dicts(),
        "regions": res.regions.to_dicts(),
        "unmatched": list(res.unmatched),
        "kept_out": to_jsonable(list(res.rejected)),
        "problems": to_jsonable(list(res.problems)),
        "finding": to_jsonable(res.finding),
    }
