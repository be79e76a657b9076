"""Reconciliation in the service: copies per station, coordinators' decisions (which copy
stands, whether an incident report is confirmed), official results.

The statistics live in the library (:mod:`saylau.domain.reconcile`); this module only reads the
events from the database and hands the library Polars-backed protocol tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .._exceptions import DataFormatError, SaylauInputError
from ..domain.choices import normalize_name
from ..domain.reconcile import CopyComparison, StationConsensus, compare_copies, consensus
from ..domain.table import ProtocolTable
from ..io import read_protocols
from .accounts import AccessDenied, User
from .audit import append_audit
from .models import (
    OfficialRow,
    OfficialSnapshot,
    ProtocolCheck,
    Resolution,
    Station,
    Submission,
    Verification,
)
from .submissions import Ballot, NotFound, current_versions, load_ballot, transcribed_lines

__all__ = [
    "VERIFICATION_STATUSES",
    "OfficialImport",
    "compare_with_official",
    "copies",
    "import_official",
    "official_table",
    "resolve",
    "station_consensus",
    "table_of",
    "verifications",
    "verify_incident",
]


def copies(
    session: Session, stations: Collection[str] | None = None
) -> list[tuple[str, str, dict[str, int | None]]]:
    """The current version of every copy with figures: typed ones (id ``"<n>"``) and photos
    transcribed twice alike (id ``"<n>"`` of the photo submission)."""
    out: list[tuple[str, str, dict[str, int | None]]] = []
    subs = current_versions(session, "protocol", None if stations is None else list(stations))
    for s in subs:
        lines = s.body.get("lines") or {}
        if lines:
            out.append((str(s.id), s.station, dict(lines)))
        else:
            agreed = transcribed_lines(session, s.id)
            if agreed is not None:
                out.append((str(s.id), s.station, dict(agreed)))
    return out


def _decisions(session: Session) -> dict[str, str | None]:
    latest: dict[str, str | None] = {}
    for r in session.scalars(select(Resolution).order_by(Resolution.id)):
        latest[r.station] = None if r.chosen is None else str(r.chosen)
    return latest


def station_consensus(
    session: Session, stations: Collection[str] | None = None
) -> list[StationConsensus]:
    """Per station: agreed, resolved, conflict or unresolved (see :func:`consensus`)."""
    return consensus(copies(session, stations), choices=_decisions(session))


def _outside(scope: Collection[str] | None, station: str) -> None:
    if scope is not None and station not in scope:
        raise AccessDenied("station outside your subtree", field="station", found=station)


def _decide(
    session: Session,
    user: User,
    model: Any,
    reason: str,
    *,
    action: str,
    target: str,
    **fields: Any,
) -> None:
    """Record a coordinator's decision: a row of its own (never an overwrite) with who, when
    and why, and its audit entry (the decision's fields and the reason)."""
    at = dt.datetime.now(dt.UTC)
    session.add(model(**fields, reason=reason, account_id=user.id, at=at))
    detail = {k: v for k, v in fields.items() if k not in ("station", "submission_id")}
    append_audit(
        session,
        actor=user.username,
        action=action,
        target=target,
        detail={**detail, "reason": reason},
    )


def resolve(
    session: Session,
    user: User,
    *,
    station: str,
    chosen: int | None,
    reason: str,
    scope: Collection[str] | None = None,
) -> None:
    """Record which version of a station's copies stands (None: "unresolved"), with a reason.

    ``scope``: the stations the person may decide for (None: all; see
    :func:`saylau.web.auth.scope_stations`).
    """
    _outside(scope, station)
    if not reason.strip():
        raise DataFormatError("a reason is required", field="reason")
    if session.get(Station, station) is None:
        raise NotFound("unknown station", field="station", found=station)
    if chosen is not None:
        ids = {c[0] for c in copies(session, [station])}
        if str(chosen) not in ids:
            raise NotFound("not a current copy of this station", field="chosen", found=chosen)
    target = f"station:{station}"
    _decide(
        session,
        user,
        Resolution,
        reason,
        action="resolve",
        target=target,
        station=station,
        chosen=chosen,
    )


#: A coordinator's verdict on an incident report.
VERIFICATION_STATUSES = ("unverified", "confirmed", "rejected")


def verify_incident(
    session: Session,
    user: User,
    incident_id: int,
    *,
    status: str,
    reason: str,
    scope: Collection[str] | None = None,
) -> None:
    """Record a coordinator's verification of an incident report (append-only, audited).

    A verdict other than ``unverified`` needs a reason; ``scope`` as in :func:`resolve`.
    """
    if status not in VERIFICATION_STATUSES:
        raise DataFormatError(
            "unknown verification status",
            field="status",
            expected=" | ".join(VERIFICATION_STATUSES),
            found=status,
        )
    if status != "unverified" and not reason.strip():
        raise DataFormatError("a reason is required", field="reason")
    sub = session.get(Submission, incident_id)
    if sub is None or sub.kind != "incident":
        raise NotFound("unknown incident", field="incident", found=incident_id)
    _outside(scope, sub.station)
    target = f"incident:{incident_id}"
    _decide(
        session,
        user,
        Verification,
        reason,
        action="verify.incident",
        target=target,
        submission_id=incident_id,
        status=status,
    )


def verifications(session: Session) -> dict[int, tuple[str, str]]:
    """The latest verification of every verified incident: id -> (status, reason)."""
    latest: dict[int, tuple[str, str]] = {}
    for v in session.scalars(select(Verification).order_by(Verification.id)):
        latest[v.submission_id] = (v.status, v.reason)
    return latest


def table_of(
    ballot: Ballot, rows: Mapping[str, Mapping[str, Any]], regions: Mapping[str, str]
) -> ProtocolTable:
    """A protocol table (one row per station) from figures keyed by station."""
    keys = ballot.keys
    schema = {"station": pl.Utf8, "region": pl.Utf8, **dict.fromkeys(keys, pl.Int64)}
    data = [
        {"station": s, "region": regions.get(s, ""), **{k: r.get(k) for k in keys}}
        for s, r in rows.items()
    ]
    frame = pl.DataFrame(data, schema=schema)
    return ProtocolTable.from_frame(
        frame, profile=ballot.profile, choices=list(ballot.choices), levels=["region"]
    )


def _regions(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Station.code, Station.region)).all())


def consensus_table(session: Session, stations: Collection[str] | None = None) -> ProtocolTable:
    """The agreed or chosen copy of each station that has one."""
    rows = {c.station: dict(c.lines) for c in station_consensus(session, stations) if c.lines}
    return table_of(load_ballot(session), rows, _regions(session))


def latest_snapshot(session: Session) -> int | None:
    return session.scalar(select(func.max(OfficialSnapshot.id)))


def official_table(session: Session, snapshot: int | None = None) -> ProtocolTable | None:
    """The official protocols of a snapshot (default: the latest), or None before any import."""
    snap = snapshot if snapshot is not None else latest_snapshot(session)
    if snap is None:
        return None
    rows = {
        r.station: r.lines
        for r in session.scalars(select(OfficialRow).where(OfficialRow.snapshot_id == snap))
    }
    return table_of(load_ballot(session), rows, _regions(session))


def compare_with_official(
    session: Session, stations: Collection[str] | None = None
) -> CopyComparison | None:
    """Consensus copies against the latest official snapshot (None before any import)."""
    official = official_table(session)
    if official is None:
        return None
    return compare_copies(consensus_table(session, stations), official, region=_regions(session))


@dataclasses.dataclass(frozen=True)
class OfficialImport:
    """One official import: the snapshot and, against the previous one, every changed figure."""

    snapshot: int
    source: str
    stations: int
    unknown_stations: tuple[str, ...]
    rejected_rows: tuple[str, ...]
    changes: tuple[dict[str, Any], ...]
    previous: int | None

    def summary(self) -> str:
        text = f"official snapshot {self.snapshot} from {self.source}: {self.stations} stations"
        if self.previous is not None:
            moved = len({c["station"] for c in self.changes})
            text += (
                f"; {len(self.changes)} figures changed at {moved} stations"
                f" since snapshot {self.previous}"
            )
        if self.unknown_stations:
            text += f"; {len(self.unknown_stations)} stations not in the election (kept out)"
        if self.rejected_rows:
            text += f"; {len(self.rejected_rows)} rows kept out by the reader"
        return text


def import_official(session: Session, path: str | Path, *, actor: str) -> OfficialImport:
    """Import official protocols from any file the io readers read, as a new dated snapshot."""
    ballot = load_ballot(session)
    table = read_protocols(path, profile=ballot.profile.name)
    file = str(path)
    by_norm = {normalize_name(c.id): c.id for c in table.choices}
    by_norm.update({normalize_name(c.name): c.id for c in table.choices})
    mapping: dict[str, str] = {}
    for code in ballot.choices:
        src = by_norm.get(normalize_name(code))
        if src is None:
            raise DataFormatError(
                "choice of the ballot absent from the file",
                file=file,
                row=1,
                field=code,
                expected=", ".join(ballot.choices),
            )
        mapping[code] = src
    known = set(session.scalars(select(Station.code)))
    frame = table.frame
    rows: dict[str, dict[str, int | None]] = {}
    unknown: list[str] = []
    for rec in frame.iter_rows(named=True):
        st = str(rec["station"])
        if st not in known:
            unknown.append(st)
            continue
        figs = {k: rec.get(k) for k in ballot.profile.line_keys if k in frame.columns}
        figs.update({code: rec[src] for code, src in mapping.items()})
        rows[st] = figs
    if not rows:
        raise SaylauInputError(
            "no station of the file is in the election",
            file=file,
            field="station",
            found=", ".join(unknown[:3]),
        )
    previous = latest_snapshot(session)
    prev_rows = (
        {}
        if previous is None
        else {
            r.station: r.lines
            for r in session.scalars(select(OfficialRow).where(OfficialRow.snapshot_id == previous))
        }
    )
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    snap = OfficialSnapshot(
        source=Path(file).name,
        sha256=digest,
        imported_at=dt.datetime.now(dt.UTC),
        stations=len(rows),
    )
    session.add(snap)
    session.flush()
    changes: list[dict[str, Any]] = []
    for st, figs in rows.items():
        session.add(OfficialRow(snapshot_id=snap.id, station=st, lines=figs))
        old = prev_rows.get(st)
        if previous is not None:
            for k, v in figs.items():
                was = None if old is None else old.get(k)
                if old is None or was != v:
                    changes.append({"station": st, "line": k, "before": was, "after": v})
    for st in sorted(set(prev_rows) - set(rows)):
        changes.append({"station": st, "line": "*", "before": "present", "after": "absent"})
    result = OfficialImport(
        snap.id,
        Path(file).name,
        len(rows),
        tuple(unknown),
        tuple(str(p) for p in table.rejected),
        tuple(changes),
        previous,
    )
    append_audit(
        session,
        actor=actor,
        action="import.official",
        target=Path(file).name,
        detail={
            "snapshot": snap.id,
            "sha256": digest,
            "stations": len(rows),
            "changes": len(changes),
            "unknown": len(unknown),
        },
    )
    return result


def check_counts(session: Session) -> dict[str, int]:
    """Current protocol copies by status (ok, soft, failed, photo_only)."""
    ids = [s.id for s in current_versions(session, "protocol")]
    out: dict[str, int] = {}
    for chunk in range(0, len(ids), 500):
        for status in session.scalars(
            select(ProtocolCheck.status).where(
                ProtocolCheck.submission_id.in_(ids[chunk : chunk + 500])
            )
        ):
            out[status] = out.get(status, 0) + 1
    return out


def submission_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Submission)) or 0)
