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
import secrets
import uuid
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..domain.profiles import get_profile
from . import i18n
from .relations import profile_document

__all__ = ["N_", "PageRoute", "install", "router"]


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
    ("commissions", N_("Commission hierarchy")),
    ("stations", N_("Polling stations with registered voters")),
    ("choices", N_("Choices on the ballot")),
    ("people", N_("People, roles and assignments")),
    ("incidents", N_("Incident categories")),
    ("sample-quick_count", N_("Quick-count sample")),
    ("sample-exit_poll", N_("Exit-poll sample")),
    ("official", N_("Official results")),
)

_HERE = Path(__file__).resolve().parent
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
LANG_COOKIE = "lang"
LOGIN_CSRF_COOKIE = "saylau_login_csrf"


class PageRoute(APIRoute):
    """A page route that closes the uploaded files of the form it read (no leaked temp file)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            finally:
                form = getattr(request, "_form", None)  # Starlette's cache of request.form()
                if form is not None:
                    await form.close()

        return run


router = APIRouter(include_in_schema=False, route_class=PageRoute)


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
    csrf_token: str | None = "",
    status_code: int = 200,
) -> HTMLResponse:
    """Draw a template in the request's language with the common context."""
    locale = request_locale(request, getattr(user, "locale", None))
    _ = gettext_for(locale)
    ctx: dict[str, Any] = {
        "locale": locale,
        "locale_names": i18n.LOCALE_NAMES,
        "user": user,
        "role_label": _(ROLE_LABELS[user.role]) if user is not None else "",
        "csrf_token": csrf_token or "",
        "home_url": "/",
        "static_url": lambda path: str(request.url_for("static", path=path)),
        "status_labels": {k: _(v) for k, v in STATUS_LABELS.items()},
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


# ------------------------------------------------------------------ who is asking
def page_user(request: Request) -> Any:
    """The person behind a page request (session cookie, or a bearer token), or None."""
    from .auth import session_user

    return session_user(request)


async def check_csrf(request: Request) -> None:
    """Refuse a cookie-session form post whose CSRF token is not the session's (403, audited).

    A bearer token is not sent by the browser on its own, so it needs no CSRF token.
    """
    import hmac

    from ..store.accounts import AccessDenied

    if getattr(request.state, "auth_kind", "cookie") == "bearer":
        return
    form = await request.form()
    sent = form.get("csrf_token")
    expected = getattr(request.state, "csrf", None)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise AccessDenied("CSRF token missing or wrong", field="csrf_token")


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def signed_in(request: Request, roles: tuple[str, ...]) -> Any:
    """The person if their role may open this page.

    A browser without a session is sent to the login page and a browser of another role gets
    a 403 page; any other client gets the API's answers (401, 403 naming the role).
    """
    from ..store.accounts import AccessDenied, NotAuthenticated

    user = page_user(request)
    if user is None:
        if not _wants_html(request):
            raise NotAuthenticated("sign in first (session cookie or bearer token)")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    if user.role not in roles:
        if not _wants_html(request):
            raise AccessDenied(
                f"not allowed for role {user.role}",
                field="role",
                expected=" | ".join(roles),
                found=user.role,
            )
        _ = gettext_for(request_locale(request, user.locale))
        return render(
            request,
            "message.html",
            {"title": _("Not allowed"), "text": _("Your role cannot open this page.")},
            user=user,
            csrf_token=request.state.csrf or "",
            status_code=403,
        )
    return user


async def signed_form(request: Request, roles: tuple[str, ...]) -> tuple[Any, Any] | Response:
    """The signed-in person of one of ``roles`` and their posted form, its CSRF token checked.

    Answers as :func:`signed_in` does when the person may not post here.
    """
    user = signed_in(request, roles)
    if isinstance(user, Response):
        return user
    await check_csrf(request)
    return user, await request.form()


#: The page each role lands on after signing in.
HOME: Mapping[str, str] = {
    "admin": "/admin",
    "coordinator": "/dashboard",
    "analyst": "/dashboard",
    "observer": "/observer",
    "interviewer": "/interviewer",
    "transcriber": "/transcribe",
}


def roles_of(*roles: str) -> dict[str, Any]:
    """Route keywords declaring who may open a page (read by the route-walking test)."""
    return {"openapi_extra": {"x-roles": list(roles)}}


# ------------------------------------------------------------------ routes without a session
@router.get("/pages/profiles/{name}.json", name="page_profile_json", **roles_of("public"))
def profile_json(name: str, request: Request) -> JSONResponse:
    """A protocol profile's lines and control relations, line labels in the request's language."""
    user = page_user(request)
    locale = request_locale(request, getattr(user, "locale", None))
    doc = profile_document(get_profile(name), gettext_for(locale))
    return JSONResponse(doc, headers={"Cache-Control": "private, max-age=300", "Vary": "Cookie"})


@router.get("/lang/{code}", name="page_language", **roles_of("public"))
def language(code: str, request: Request, next: str | None = None) -> Response:
    """Switch the interface language (a cookie; a signed-in person's preference is kept too)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in i18n.LOCALES:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
        user = page_user(request)
        if user is not None:
            from .page_queries import set_locale

            with _db(request).write() as session:
                set_locale(session, user.id, code)
    return response


@router.get("/", name="page_home", **roles_of("public"))
def home(request: Request) -> Response:
    user = page_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME.get(user.role, "/login"), status_code=303)


@router.get("/login", name="page_login", **roles_of("public"))
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, _safe_next(next, ""))


def _login_page(
    request: Request, next_url: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    flash = {"kind": "error", "text": error} if error else None
    response = render(
        request,
        "login.html",
        {"next_url": next_url, "flash": flash},
        csrf_token=token,
        status_code=status_code,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/login", name="page_login_post", **roles_of("public"))
async def login(request: Request) -> Response:
    """Check the password (throttled, audited) and open a cookie session."""
    from ..store.accounts import LoginThrottled, User, authenticate
    from .auth import start_cookie_session

    form = await request.form()
    _ = gettext_for(request_locale(request))
    next_url = _safe_next(_text(form, "next"), "")
    sent, cookie = _text(form, "csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not secrets.compare_digest(sent, cookie):
        return _login_page(request, next_url, _("The form expired: sign in again."), 403)
    address = request.client.host if request.client else "-"
    with _db(request).write() as session:
        result = authenticate(
            session,
            username=_text(form, "username").strip(),
            password=_text(form, "password"),
            address=address,
        )
    if not isinstance(result, User):
        if isinstance(result, LoginThrottled):
            msg = _("Too many failed attempts: wait 15 minutes and try again.")
            return _login_page(request, next_url, msg, 429)
        return _login_page(request, next_url, _("Wrong user name or password."), 401)
    response = RedirectResponse(next_url or HOME.get(result.role, "/"), status_code=303)
    start_cookie_session(request, response, result)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", name="page_logout", **roles_of(*HOME))
async def logout(request: Request) -> Response:
    """End the cookie session (a bearer token is ended through the API, not here)."""
    from ..store.accounts import end_session
    from .auth import SESSION_COOKIE

    user = signed_in(request, tuple(HOME))
    if isinstance(user, Response):
        return user
    await check_csrf(request)
    response = RedirectResponse("/login", status_code=303)
    token = request.cookies.get(SESSION_COOKIE)
    if token and getattr(request.state, "auth_kind", "") == "cookie":
        with _db(request).write() as session:
            end_session(session, token)
        response.delete_cookie(SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ helpers
def _db(request: Request) -> Any:
    from .auth import get_db

    return get_db(request)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _refused(request: Request, user: Any, exc: Exception) -> str:
    """Audit a refused form (as the API does) and say why in the person's language."""
    from ..store.audit import append_audit

    field = getattr(exc, "field", None)
    message = getattr(exc, "message", str(exc))
    with _db(request).write() as session:
        append_audit(
            session,
            actor=user.username if user is not None else "-",
            action="refused",
            target=f"{request.method} {request.url.path}",
            detail={"error": type(exc).__name__, "message": message, "field": field},
        )
    from .errors import error_text

    _ = gettext_for(request_locale(request, getattr(user, "locale", None)))
    return _("Not saved: %(reason)s") % {"reason": error_text(exc, _)}


def status_of(exc: Exception) -> int:
    from .._exceptions import SaylauInputError
    from .errors import status_of as api_status

    return api_status(exc) if isinstance(exc, SaylauInputError) else 400


def install(app: FastAPI) -> None:
    """Add the pages and their static files to an application."""
    from . import pages_admin, pages_dashboard, pages_field

    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(pages_field.router)
    app.include_router(pages_dashboard.router)
    app.include_router(pages_admin.router)


def now_local() -> str:
    """The time now, for a datetime-local field's default."""
    return dt.datetime.now().strftime("%Y-%m-%dT%H:%M")
