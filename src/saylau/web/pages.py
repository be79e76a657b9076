"""Server-rendered pages: login, the observer's and interviewer's forms, the coordinator's
dashboard and the admin's pages, in Kazakh, Russian and English.

The pages are a thin shell: every read and write goes through :mod:`saylau.store` (the same
functions the JSON API calls) and every number shown comes from the library. Forms post with the
session cookie and its CSRF token; every form that creates something carries an idempotency key
made when the page was drawn, so a double tap or a resent form on a bad connection stores once.
The control relations the observer's page checks while typing are the library's profile, served
as JSON by :func:`profile_json` and evaluated by the generic ``static/relations.js``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..domain.profiles import get_profile
from . import i18n
from .relations import profile_document

__all__ = ["N_", "install", "router"]


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


#: Role names as people read them.
ROLE_LABELS: Mapping[str, str] = {
    "admin": N_("Administrator"),
    "coordinator": N_("Coordinator"),
    "observer": N_("Observer"),
    "interviewer": N_("Exit-poll interviewer"),
    "transcriber": N_("Transcriber"),
    "analyst": N_("Analyst"),
}

#: A protocol copy's check status (saylau.domain.checks) and the reconciliation states.
STATUS_LABELS: Mapping[str, str] = {
    "ok": N_("checks pass"),
    "soft": N_("plausibility check fails"),
    "failed": N_("control relation fails"),
    "photo_only": N_("photo only, waiting for transcription"),
    "conflict": N_("copies disagree"),
}

VERIFICATION_LABELS: Mapping[str, str] = {
    "unverified": N_("unverified"),
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
}

COMPLAINT_LABELS: Mapping[str, str] = {
    "not_filed": N_("not filed"),
    "filed": N_("filed"),
    "rejected": N_("rejected"),
    "answered": N_("answered"),
}

#: Election phases of the incident taxonomy (../shared/incidents.md).
PHASE_LABELS: Mapping[str, str] = {
    "pre-election": N_("pre-election"),
    "opening": N_("opening"),
    "voting": N_("voting"),
    "counting": N_("counting"),
    "after the count": N_("after the count"),
    "any": N_("any time"),
}

#: What an admin can import from a file, in the order of setting an election up.
IMPORT_KINDS: tuple[tuple[str, str], ...] = (
    ("stations", N_("Commissions and polling stations")),
    ("choices", N_("Choices on the ballot")),
    ("profile", N_("Protocol profile")),
    ("sample", N_("Quick-count or exit-poll sample")),
    ("people", N_("People, roles and assignments")),
    ("official", N_("Official results")),
)

_HERE = Path(__file__).resolve().parent
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
LANG_COOKIE = "lang"

router = APIRouter(include_in_schema=False)


# ------------------------------------------------------------------ rendering
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    # new-style gettext (keyword placeholders, escaped); the callables come per request
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


templates = Jinja2Templates(env=_environment())


def request_locale(request: Request, preference: str | None = None) -> str:
    """The interface language of this request (preference, cookie, Accept-Language)."""
    return i18n.choose_locale(
        preference, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


def gettext_for(locale: str) -> Callable[[str], str]:
    """Plain-text translation (for JSON and flash messages)."""
    return i18n.translations(locale).gettext


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: Any = None,
    csrf_token: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """Draw a template in the request's language with the common context."""
    locale = request_locale(request, getattr(user, "locale", None))
    tr = gettext_for(locale)
    ctx: dict[str, Any] = {
        "locale": locale,
        "locale_names": i18n.LOCALE_NAMES,
        "user": user,
        "role_label": tr(ROLE_LABELS[user.role]) if user is not None else "",
        "csrf_token": csrf_token,
        "home_url": "/",
        "static_url": lambda path: str(request.url_for("static", path=path)),
        "status_labels": {k: tr(v) for k, v in STATUS_LABELS.items()},
        "flash": None,
        **i18n.template_functions(locale),
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Content-Language"] = locale
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path may follow a login or a language change (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def new_key() -> str:
    """An idempotency key for a form drawn now."""
    return str(uuid.uuid4())


# ------------------------------------------------------------------ routes without a session
@router.get("/pages/profiles/{name}.json", name="page_profile_json")
def profile_json(name: str, request: Request) -> JSONResponse:
    """A protocol profile's lines and control relations, line labels in the request's language."""
    doc = profile_document(get_profile(name), gettext_for(request_locale(request)))
    return JSONResponse(doc, headers={"Cache-Control": "public, max-age=300"})


@router.get("/lang/{code}", name="page_language")
def language(code: str, request: Request, next: str | None = None) -> Response:
    """Switch the interface language (a cookie; a signed-in person's preference is kept too)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in i18n.LOCALES:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
        _remember_locale(request, code)
    return response


def install(app: FastAPI) -> None:
    """Add the pages and their static files to an application."""
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(router)


def _remember_locale(request: Request, code: str) -> None:
    """Store a signed-in person's language (wired to the store once sessions exist)."""


def _now_local() -> str:
    return dt.datetime.now().strftime("%Y-%m-%dT%H:%M")
