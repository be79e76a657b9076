"""The live independent count: quick count from the sample's consensus copies, exit poll from the
interview batches; computed by the survey module, cached in the database.

The cache is keyed by a fingerprint of its inputs (newest submission, resolution and official
snapshot): a page view reads the cached result; the first read after new reports arrived
recomputes it once (``live_estimate`` table), in whichever worker process asks first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import polars as pl
from sqlalchemy import func, select

from .._exceptions import SaylauError
from ..results import to_jsonable
from ..survey.compare import compare_with_official
from ..survey.exitpoll import estimate_exitpoll
from ..survey.frame import SamplingFrame
from ..survey.interviews import interviews_from_frame
from ..survey.quickcount import quick_count
from ..survey.sample import SampleDraw
from .db import Database
from .models import (
    LiveEstimate,
    OfficialSnapshot,
    Resolution,
    SampleStation,
    Setting,
    Station,
    Submission,
)
from .reconcile import consensus_table, official_table
from .submissions import current_versions, load_ballot

__all__ = ["live_estimates"]


def _fingerprint(session: Any) -> str:
    parts = [
        session.scalar(select(func.max(Submission.id))),
        session.scalar(select(func.max(Resolution.id))),
        session.scalar(select(func.max(OfficialSnapshot.id))),
        session.scalar(select(func.count()).select_from(SampleStation)),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _frame(session: Any) -> SamplingFrame:
    rows = session.execute(select(Station.code, Station.registered, Station.region)).all()
    frame = pl.DataFrame(
        rows, schema={"station": pl.Utf8, "registered": pl.Int64, "region": pl.Utf8}, orient="row"
    )
    return SamplingFrame.from_frame(frame)


def _draw(session: Any, kind: str) -> SampleDraw | None:
    row = session.get(Setting, f"sample:{kind}")
    return None if row is None else SampleDraw.from_record(row.value)


def _official_totals(session: Any) -> dict[str, int] | None:
    table = official_table(session)
    if table is None:
        return None
    totals = table.totals()
    return {c.id: int(totals[c.id]) for c in table.choices}


def _compare(session: Any, est: Any) -> dict[str, Any] | None:
    official = _official_totals(session)
    if official is None:
        return None
    return to_jsonable(compare_with_official(est, official))  # type: ignore[no-any-return]


def _quick(session: Any) -> dict[str, Any]:
    draw = _draw(session, "quick_count")
    if draw is None:
        return {"status": "no quick-count sample imported"}
    reports = consensus_table(session, list(draw.stations))
    if reports.stations == 0:
        return {"status": "no sampled station reported yet", "sampled": len(draw.stations)}
    qc = quick_count(reports, frame=_frame(session), sample=draw, empty="collapse")
    return {
        "status": "ok",
        "shares": qc.table(),
        "turnout": None if qc.turnout is None else qc.turnout.table()[0],
        "stations_sampled": qc.stations_sampled,
        "stations_reported": qc.stations_reported,
        "strata": to_jsonable(qc.strata),
        "excluded": to_jsonable(qc.excluded),
        "rules": dict(qc.rules),
        "official": _official_totals(session),
        "comparison": _compare(session, qc.shares),
    }


def _exit(session: Any) -> dict[str, Any]:
    draw = _draw(session, "exit_poll")
    if draw is None:
        return {"status": "no exit-poll sample imported"}
    records = []
    for s in current_versions(session, "interviews"):
        for r in s.body.get("records", []):
            records.append(
                {**{k: None if v is None else str(v) for k, v in r.items()}, "station": s.station}
            )
    if not records:
        return {"status": "no interview batch yet", "sampled": len(draw.stations)}
    interviews = interviews_from_frame(
        pl.DataFrame(records, infer_schema_length=None),
        choices=list(load_ballot(session).choices) or None,
    )
    est = estimate_exitpoll(interviews, _frame(session), sample=draw, missing_strata="ignore")
    return {
        "status": "ok",
        "shares": est.table(),
        "interviews": len(records),
        "stations_sampled": len(draw.stations),
        "stations_reported": est.extra.get("stations_reported"),
        "nonresponse_rate": est.extra.get("nonresponse_rate"),
        "official": _official_totals(session),
        "comparison": _compare(session, est),
    }


def _heads(session: Any) -> dict[str, Any]:
    from .headcounts import turnout_check

    result: dict[str, Any] = to_jsonable(turnout_check(session))
    return result


#: What the live count holds, each computed by the library from the database's reports.
LIVE_KINDS = {"quick_count": _quick, "exit_poll": _exit, "head_counts": _heads}


def live_estimates(db: Database) -> dict[str, Any]:
    """The cached live estimates (quick count, exit poll, head counts against the protocols),
    recomputed first when their inputs changed."""
    with db.read() as session:
        fp = _fingerprint(session)
        cached = {e.kind: e for e in session.scalars(select(LiveEstimate))}
        if all(k in cached and cached[k].inputs == fp for k in LIVE_KINDS):
            return {
                k: {**cached[k].result, "computed_at": cached[k].computed_at.isoformat()}
                for k in LIVE_KINDS
            }
        out = {}
        for kind, fn in LIVE_KINDS.items():
            try:
                out[kind] = fn(session)
            except (SaylauError, ValueError) as exc:
                out[kind] = {"status": "not estimable yet", "reason": str(exc)}
    now = dt.datetime.now(dt.UTC)
    with db.write() as session:
        for kind, result in out.items():
            row = session.get(LiveEstimate, kind)
            if row is None:
                session.add(LiveEstimate(kind=kind, inputs=fp, computed_at=now, result=result))
            else:
                row.inputs, row.computed_at, row.result = fp, now, result
    return {k: {**v, "computed_at": now.isoformat()} for k, v in out.items()}
