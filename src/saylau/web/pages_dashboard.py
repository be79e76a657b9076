"""The coordinator's (and analyst's, read-only) dashboard: stations reported by region,
protocols failing checks, conflicts waiting with a resolve form, official-vs-copy differences,
the live quick count and exit poll, and the incident feed with filters.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .._exceptions import SaylauInputError
from ..domain.profiles import LINE_LABELS
from . import page_queries as q
from .live_view import estimate_view, headcount_view
from .pages import (
    PHASE_LABELS,
    VERIFICATION_LABELS,
    PageRoute,
    gettext_for,
    render,
    request_locale,
    roles_of,
    signed_form,
    signed_in,
    status_of,
)
from .pages import _db as db_of
from .pages import _refused as refused
from .pages import _text as text_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=PageRoute)

VIEWERS = ("coordinator", "analyst", "admin")
RESOLVERS = ("coordinator", "admin")


def _failing(session: Any, scope: Any, profile: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from ..store.models import ProtocolCheck
    from ..store.submissions import current_versions

    subs = {
        s.id: s
        for s in current_versions(session, "protocol", None if scope is None else list(scope))
    }
    if not subs:
        return []
    checks = session.execute(
        select(ProtocolCheck.submission_id, ProtocolCheck.status, ProtocolCheck.violations).where(
            ProtocolCheck.submission_id.in_(list(subs)),
            ProtocolCheck.status.in_(["soft", "failed"]),
        )
    ).all()
    formulas = {r.name: r.formula(profile.numbers) for r in profile.relations}
    out = []
    for sid, status, violations in checks:
        out.append(
            {
                "station": subs[sid].station,
                "copy": sid,
                "status": status,
                "violations": [
                    f"{formulas.get(v['relation'], v['relation'])}: "
                    f"{v['found']} ≠ {v['expected']} ({v['difference']:+d})"
                    for v in violations
                ],
            }
        )
    return sorted(out, key=lambda r: (r["status"] != "failed", len(r["station"]), r["station"]))


def _conflicts(session: Any, scope: Any, labels: dict[str, str]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from ..store.models import Account, Submission
    from ..store.reconcile import station_consensus

    out = []
    for c in station_consensus(session, None if scope is None else list(scope)):
        if c.state != "conflict":
            continue
        ids = [int(i) for ids, _ in c.versions for i in ids]
        senders = dict(
            session.execute(
                select(Submission.id, Account.username)
                .join(Account, Account.id == Submission.account_id)
                .where(Submission.id.in_(ids))
            ).all()
        )
        copies = [
            {"id": int(ids_[0]), "sender": ", ".join(senders.get(int(i), "?") for i in ids_)}
            for ids_, _ in c.versions
        ]
        keys = list(c.versions[0][1])
        differing = [k for k in keys if len({v.get(k) for _, v in c.versions}) > 1]
        lines = [
            {"label": labels.get(k, k), "values": [v.get(k) for _, v in c.versions]}
            for k in differing
        ]
        out.append({"station": c.station, "copies": copies, "lines": lines})
    return out


@router.get("/dashboard", name="page_dashboard", **roles_of(*VIEWERS))
def dashboard(
    request: Request,
    region: str = "",
    phase: str = "",
    category: str = "",
    verification: str = "",
    saved: str = "",
) -> Response:
    """Everything a coordinator watches on election night, inside their subtree."""
    from sqlalchemy import select

    from ..store.live import live_estimates
    from ..store.models import Choice
    from ..store.reconcile import compare_with_official
    from ..store.sms import failed_replies, quarantined
    from ..store.submissions import load_ballot
    from .auth import scope_stations

    user = signed_in(request, VIEWERS)
    if isinstance(user, Response):
        return user
    _ = gettext_for(request_locale(request, user.locale))
    db = db_of(request)
    with db.read() as session:
        scope = scope_stations(session, user)
        ballot = load_ballot(session)
        names = dict(session.execute(select(Choice.code, Choice.name)).all())
        labels = {
            line.key: _(line.label or LINE_LABELS.get(line.key, line.key))
            for line in ballot.profile.lines
        } | names
        reported = q.reported_by_region(session, scope)
        failing = _failing(session, scope, ballot.profile)
        conflicts = _conflicts(session, scope, labels)
        comparison = compare_with_official(session, scope)
        incidents = q.incidents(
            session,
            scope,
            region=region,
            phase=phase,
            category=category,
            verification=verification,
        )
        cats = q.categories(session)
        sms_failed = failed_replies(session, scope)
        sms_quarantined = quarantined(session, scope)
        regions = sorted({r["region"] for r in reported})
    live = live_estimates(db)
    head = live["head_counts"]
    differences: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    if comparison is not None:
        by_station: dict[str, list[dict[str, Any]]] = {}
        for row in comparison.differences.iter_rows(named=True):
            by_station.setdefault(row["station"], []).append(
                {
                    "label": labels.get(row["line"], row["line"]),
                    "copy": row["copy"],
                    "official": row["official"],
                    "difference": row["difference"] or 0,
                }
            )
        differences = [{"station": s, "lines": v} for s, v in by_station.items()]
        moved = [
            {"name": names.get(c, c), "difference": int(v)}
            for c, v in comparison.moved.items()
            if v
        ]
    cat_labels = {c["code"]: _(c["label"]) for c in cats}
    flash = None
    if saved:
        flash = {"kind": "ok", "text": _("Saved.")}
    context = {
        "scope": user.commission if user.role == "coordinator" else "",
        "read_only": user.role not in RESOLVERS,
        "can_resolve": user.role in RESOLVERS,
        "totals": {
            "reported": sum(r["reported"] for r in reported),
            "expected": sum(r["expected"] for r in reported),
        },
        "reported": reported,
        "failing": failing,
        "conflicts": conflicts,
        "official_imported": comparison is not None,
        "differences": differences,
        "moved": moved,
        "quick_count": estimate_view(live.get("quick_count"), names, _),
        "exit_poll": estimate_view(live.get("exit_poll"), names, _),
        "head_counts": headcount_view(head, scope, _),
        "incidents": [
            {**i.__dict__, "category": cat_labels.get(i.category, i.category)} for i in incidents
        ],
        "filters": {
            "region": region,
            "phase": phase,
            "category": category,
            "verification": verification,
        },
        "filter_options": {
            "regions": regions,
            "phases": [(k, _(v)) for k, v in PHASE_LABELS.items()],
            "categories": sorted(cat_labels.items()),
        },
        "verification_labels": {k: _(v) for k, v in VERIFICATION_LABELS.items()},
        "flash": flash,
        "sms_failed": sms_failed,
        "sms_quarantined": sms_quarantined,
    }
    return render(request, "dashboard.html", context, user=user, csrf_token=request.state.csrf)


@router.post("/dashboard/conflicts/{station}", name="page_resolve", **roles_of(*RESOLVERS))
async def resolve_conflict(station: str, request: Request) -> Response:
    """Record which copy stands (or "unresolved"), with a reason (audited)."""
    from ..store.reconcile import resolve
    from .auth import scope_stations

    got = await signed_form(request, RESOLVERS)
    if isinstance(got, Response):
        return got
    user, form = got
    chosen = text_of(form, "chosen")
    try:
        with db_of(request).write() as session:
            resolve(
                session,
                user,
                station=station,
                chosen=int(chosen) if chosen.isdigit() else None,
                reason=text_of(form, "reason"),
                scope=scope_stations(session, user),
            )
    except SaylauInputError as exc:
        return _error(request, user, exc)
    return RedirectResponse("/dashboard?saved=1#conflicts", status_code=303)


@router.post("/dashboard/incidents/{incident_id}", name="page_verify", **roles_of(*RESOLVERS))
async def verify_incident(incident_id: str, request: Request) -> Response:
    """A coordinator's verification of an incident report (audited)."""
    from ..store.reconcile import verify_incident as verify
    from .auth import scope_stations

    got = await signed_form(request, RESOLVERS)
    if isinstance(got, Response):
        return got
    user, form = got
    try:
        with db_of(request).write() as session:
            verify(
                session,
                user,
                int(incident_id) if incident_id.isdigit() else -1,
                status=text_of(form, "status"),
                reason=text_of(form, "reason"),
                scope=scope_stations(session, user),
            )
    except SaylauInputError as exc:
        return _error(request, user, exc)
    return RedirectResponse("/dashboard?saved=1#incidents", status_code=303)


def _error(request: Request, user: Any, exc: SaylauInputError) -> Response:
    text = refused(request, user, exc)
    _ = gettext_for(request_locale(request, user.locale))
    return render(
        request,
        "message.html",
        {"title": _("Not saved"), "text": text},
        user=user,
        csrf_token=request.state.csrf,
        status_code=status_of(exc),
    )
