"""The installable offline field app (``/app/``) for observers and exit-poll interviewers.

The app is one page, its plain ES modules under ``web/static/`` and a service worker that keeps
them on the phone. At login the phone stores the person's assignment
(:func:`assignment_document`: stations, the profile's lines and control relations exactly as
:func:`saylau.web.relations.profile_document` serves them, the ballot, the incident categories,
the interview form) and the server's copy of what the person already sent
(:func:`submissions_document`), so that a new phone knows the history before it sends anything.
Every report then goes into an outbox in IndexedDB with a key made on the phone and is sent with
the JSON API when a connection appears; the store's idempotency keys make a resend harmless.

Examples
--------
>>> manifest = manifest_document("/app/")
>>> manifest["scope"], manifest["display"]
('/app/', 'standalone')
>>> len(shell_version()) == 16
True
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.accounts import User
from ..store.models import Choice, ProtocolCheck, Submission
from . import i18n
from . import page_queries as q
from .pages import (
    AGE_BANDS,
    COMPLAINT_LABELS,
    PHASE_LABELS,
    STATUS_LABELS,
    page_user,
    render,
    request_locale,
    roles_of,
)
from .relations import profile_document

__all__ = [
    "SHELL_ASSETS",
    "assignment_document",
    "manifest_document",
    "router",
    "shell_version",
    "submissions_document",
]

_HERE = Path(__file__).resolve().parent
#: What the service worker keeps on the phone (besides the page ``/app/`` itself).
SHELL_ASSETS: tuple[str, ...] = (
    "app.css",
    "fieldapp.js",
    "outbox.js",
    "photo.js",
    "checks.js",
    "relations.js",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
)
GENDERS = ("female", "male")
#: The most submissions the phone pulls at login (an observer sends a few dozen a day).
PULL_LIMIT = 2000


@functools.cache
def shell_version() -> str:
    """A fingerprint of the app's files and pages: a new version makes the phones update."""
    digest = hashlib.sha256()
    paths = [_HERE / "static" / name for name in (*SHELL_ASSETS, "sw.js")]
    paths += [_HERE / "templates" / "fieldapp.html", *sorted((_HERE / "locale").glob("*/*/*.po"))]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def manifest_document(scope: str, name: str = "saylau") -> dict[str, Any]:
    """The web app manifest: installable from the browser's menu, opens on ``scope``."""
    return {
        "name": f"{name}: observers",
        "short_name": name,
        "start_url": scope,
        "scope": scope,
        "display": "standalone",
        "background_color": "#f6f8fa",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }


def _labels(gettext: Callable[[str], str]) -> dict[str, dict[str, str]]:
    return {
        "phases": {k: gettext(v) for k, v in PHASE_LABELS.items()},
        "complaints": {k: gettext(v) for k, v in COMPLAINT_LABELS.items()},
        "statuses": {k: gettext(v) for k, v in STATUS_LABELS.items()},
    }


def assignment_document(session: Session, user: User) -> dict[str, Any]:
    """Everything the phone needs to work offline for one person, labels in their language."""
    from ..store.submissions import load_ballot

    _ = i18n.translations(user.locale if user.locale in i18n.LOCALES else "en").gettext
    ballot = load_ballot(session)
    names = dict(session.execute(select(Choice.code, Choice.name)).all())
    labels = _labels(_)
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "locale": user.locale,
        "stations": [
            {"code": s.code, "name": s.name, "region": s.region}
            for s in q.stations(session, user.stations)
        ],
        "profile": profile_document(ballot.profile, _),
        "choices": [{"id": c, "name": names.get(c, c)} for c in ballot.choices],
        "against_all": list(ballot.against_all),
        "categories": [
            {
                "code": c["code"],
                "phase": c["phase"],
                "label": _(c["label"]),
                "phase_label": labels["phases"].get(c["phase"], c["phase"]),
            }
            for c in q.categories(session)
        ],
        "complaints": labels["complaints"],
        "statuses": labels["statuses"],
        "interview": {
            "age_bands": list(AGE_BANDS),
            "genders": {"female": _("woman"), "male": _("man")},
            "other_answers": {
                "refused": _("Refused to answer"),
                "dont_know": _("Does not know"),
            },
        },
    }


def submissions_document(session: Session, user: User) -> list[dict[str, Any]]:
    """What one person sent (every kind, every version), oldest first, with its key."""
    rows = session.execute(
        select(Submission, ProtocolCheck.status)
        .outerjoin(ProtocolCheck, ProtocolCheck.submission_id == Submission.id)
        .where(Submission.account_id == user.id)
        .order_by(Submission.id)
        .limit(PULL_LIMIT)
    ).all()
    replaced_by = {s.replaces: s.id for s, _status in rows if s.replaces is not None}
    return [
        {
            "id": s.id,
            "kind": s.kind,
            "station": s.station,
            "idempotency_key": s.idem_key,
            "replaces": s.replaces,
            "replaced_by": replaced_by.get(s.id),
            "status": status,
            "photo": s.photo,
            "body": s.body,
            "received_at": s.received_at.isoformat(),
        }
        for s, status in rows
    ]


# ------------------------------------------------------------------ the shell
router = APIRouter(include_in_schema=False)
_SCOPE = "/app/"


@router.get("/app/", name="page_fieldapp", **roles_of("public"))
def shell(request: Request) -> Response:
    """The app's one page (no personal data: it is kept by the service worker)."""
    user = page_user(request)  # the language of the person signed in, else of the browser
    locale = request_locale(request, getattr(user, "locale", None))
    response = render(
        request,
        "fieldapp.html",
        {
            "locale": locale,
            **i18n.template_functions(locale),
            "version": shell_version(),
            "scope": _SCOPE,
            "manifest_url": "/app/manifest.webmanifest",
        },
    )
    response.headers["Content-Language"] = locale
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


@router.get("/app", name="page_fieldapp_bare", **roles_of("public"))
def shell_bare() -> Response:
    from fastapi.responses import RedirectResponse

    return RedirectResponse(_SCOPE, status_code=308)


@router.get("/app/sw.js", name="page_fieldapp_sw", **roles_of("public"))
def service_worker() -> Response:
    """The service worker, served inside ``/app/`` so that its scope covers the app."""
    source = (_HERE / "static" / "sw.js").read_text(encoding="utf-8")
    shell = [_SCOPE, "/app/manifest.webmanifest", *(f"/static/{a}" for a in SHELL_ASSETS)]
    head = f"const VERSION = {json.dumps(shell_version())};\nconst SHELL = {json.dumps(shell)};\n"
    return Response(
        head + source,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": _SCOPE},
    )


@router.get("/app/manifest.webmanifest", name="page_fieldapp_manifest", **roles_of("public"))
def manifest() -> JSONResponse:
    return JSONResponse(
        manifest_document(_SCOPE),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )
