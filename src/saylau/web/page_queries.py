"""The few database reads and writes the pages need beyond the store's repositories.

Kept apart from :mod:`saylau.web.pages` so that the routes stay a thin shell; each function
takes a SQLAlchemy session and returns plain data (no ORM object leaves this module).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..store.models import (
    Account,
    Assignment,
    IncidentCategory,
    OfficialSnapshot,
    ProtocolCheck,
    Station,
    Submission,
)
from ..store.reconcile import verifications
from ..store.submissions import current_versions

__all__ = [
    "IncidentRow",
    "StationRow",
    "accounts",
    "categories",
    "incidents",
    "my_submissions",
    "reported_by_region",
    "set_locale",
    "snapshots",
    "stations",
]


@dataclasses.dataclass(frozen=True)
class StationRow:
    code: str
    name: str
    region: str


@dataclasses.dataclass(frozen=True)
class IncidentRow:
    id: int
    station: str
    region: str
    category: str
    phase: str
    description: str
    observed: str
    received: str
    complaint: str
    verification: str


def set_locale(session: Session, account_id: int, code: str) -> None:
    """Keep a person's interface language."""
    session.execute(update(Account).where(Account.id == account_id).values(locale=code))


def stations(session: Session, codes: Collection[str] | None = None) -> list[StationRow]:
    """Stations (all, or the given codes) in code order."""
    q = select(Station.code, Station.name, Station.region)
    if codes is not None:
        q = q.where(Station.code.in_(list(codes)))
    rows = [StationRow(*r) for r in session.execute(q).all()]
    return sorted(rows, key=lambda r: (len(r.code), r.code))


def reported_by_region(session: Session, scope: Collection[str] | None) -> list[dict[str, Any]]:
    """Per region: stations expected and stations with at least one protocol copy."""
    q = select(Station.code, Station.region)
    if scope is not None:
        q = q.where(Station.code.in_(list(scope)))
    region_of = dict(session.execute(q).all())
    seen = set(
        session.scalars(select(Submission.station).where(Submission.kind == "protocol").distinct())
    )
    out: dict[str, dict[str, Any]] = {}
    for code, region in region_of.items():
        row = out.setdefault(region, {"region": region, "expected": 0, "reported": 0})
        row["expected"] += 1
        row["reported"] += code in seen
    return [out[r] for r in sorted(out)]


def my_submissions(session: Session, account_id: int, kind: str) -> list[dict[str, Any]]:
    """What one person sent, newest first, with the check status of protocol copies."""
    rows = session.execute(
        select(Submission, ProtocolCheck.status)
        .outerjoin(ProtocolCheck, ProtocolCheck.submission_id == Submission.id)
        .where(Submission.account_id == account_id, Submission.kind == kind)
        .order_by(Submission.id.desc())
        .limit(50)
    ).all()
    return [
        {
            "id": s.id,
            "station": s.station,
            "received": s.received_at.strftime("%Y-%m-%d %H:%M"),
            "status": status or "ok",
            "count": len(s.body.get("records") or []),
        }
        for s, status in rows
    ]


def categories(session: Session) -> list[dict[str, str]]:
    """The incident taxonomy (code, phase, label)."""
    rows = session.execute(
        select(IncidentCategory.code, IncidentCategory.phase, IncidentCategory.label).order_by(
            IncidentCategory.code
        )
    ).all()
    return [{"code": c, "phase": p, "label": label} for c, p, label in rows]


def incidents(
    session: Session,
    scope: Collection[str] | None,
    *,
    region: str = "",
    phase: str = "",
    category: str = "",
    verification: str = "",
    limit: int = 200,
) -> list[IncidentRow]:
    """The incident feed (current versions, newest first) with the latest verification."""
    subs = current_versions(session, "incident", None if scope is None else list(scope))
    region_of = dict(session.execute(select(Station.code, Station.region)).all())
    cats = {c["code"]: c for c in categories(session)}
    latest = {i: status for i, (status, _reason) in verifications(session).items()}
    out: list[IncidentRow] = []
    for s in sorted(subs, key=lambda s: s.id, reverse=True):
        body = s.body
        cat = cats.get(str(body.get("category")), {})
        row = IncidentRow(
            id=s.id,
            station=s.station,
            region=region_of.get(s.station, ""),
            category=str(body.get("category", "")),
            phase=str(cat.get("phase", body.get("phase", ""))),
            description=str(body.get("text", "")),
            observed=str(body.get("observed_at") or "")[:16].replace("T", " "),
            received=s.received_at.strftime("%Y-%m-%d %H:%M"),
            complaint=str(body.get("complaint", "not_filed")),
            verification=latest.get(s.id, "unverified"),
        )
        if (
            (region and row.region != region)
            or (phase and row.phase != phase)
            or (category and row.category != category)
            or (verification and row.verification != verification)
        ):
            continue
        out.append(row)
        if len(out) >= limit:
            break
    return out


def accounts(session: Session) -> list[dict[str, Any]]:
    """Every account with its scope (commission, or assigned stations)."""
    assigned: dict[int, list[str]] = {}
    for acc_id, st in session.execute(select(Assignment.account_id, Assignment.station)).all():
        assigned.setdefault(acc_id, []).append(st)
    out = []
    for a in session.scalars(select(Account).order_by(Account.username)):
        scope = a.commission or " ".join(sorted(assigned.get(a.id, [])))
        out.append(
            {
                "id": a.id,
                "username": a.username,
                "full_name": a.full_name,
                "role": a.role,
                "locale": a.locale,
                "scope": scope,
                "active": a.active,
            }
        )
    return out


def snapshots(session: Session) -> list[dict[str, Any]]:
    """Official imports, newest first."""
    return [
        {
            "source": s.source,
            "imported_at": s.imported_at.strftime("%Y-%m-%d %H:%M"),
            "stations": s.stations,
        }
        for s in session.scalars(select(OfficialSnapshot).order_by(OfficialSnapshot.id.desc()))
    ]


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def change_role(session: Session, actor: Any, account_id: int, role: str) -> None:
    """Give a person another role (audited); an admin cannot demote themself."""
    from .._exceptions import DataFormatError
    from ..store.accounts import ROLES, AccessDenied
    from ..store.audit import append_audit
    from ..store.submissions import NotFound

    if role not in ROLES:
        raise DataFormatError("unknown role", field="role", expected=" | ".join(ROLES), found=role)
    acc = session.get(Account, account_id)
    if acc is None:
        raise NotFound("unknown account", field="account", found=account_id)
    if acc.id == actor.id and role != acc.role:
        raise AccessDenied("you cannot change your own role", field="role")
    before = acc.role
    acc.role = role
    append_audit(
        session,
        actor=actor.username,
        action="account.role",
        target=acc.username,
        detail={"before": before, "after": role},
    )


def transcribed_photos(session: Session, account_id: int) -> set[int]:
    """The photo copies this transcriber has already typed."""
    bodies = session.scalars(
        select(Submission.body).where(
            Submission.account_id == account_id, Submission.kind == "transcription"
        )
    )
    return {int(b["of"]) for b in bodies if isinstance(b, dict) and "of" in b}
