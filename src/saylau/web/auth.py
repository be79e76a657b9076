"""Who is asking: cookie sessions (pages, with CSRF) and bearer tokens (API), and their rights.

Every route declares the roles allowed to call it with :func:`allow`, which both enforces the
rule and records it on the route (``openapi_extra["x-roles"]``), so that the test walking every
registered route reads its expectations from the routes themselves. Scopes finer than a role
(an observer's assigned stations, a coordinator's subtree) are checked by the handlers with
:func:`scope_stations`.

Pages use :func:`current_user` (or :func:`optional_user`), :func:`require_role`, and
:func:`csrf_token` / :func:`start_cookie_session` / :func:`end_cookie_session`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ..store.accounts import (
    ROLES,
    AccessDenied,
    NotAuthenticated,
    User,
    end_session,
    lookup_session,
    new_session,
)
from ..store.db import Database
from ..store.models import Commission, Station
from .settings import Settings

__all__ = [
    "PUBLIC",
    "SESSION_COOKIE",
    "allow",
    "api_routes",
    "authorize",
    "check_role",
    "csrf_token",
    "current_user",
    "end_cookie_session",
    "get_db",
    "get_settings",
    "optional_user",
    "require_role",
    "scope_stations",
    "session_user",
    "start_cookie_session",
]

SESSION_COOKIE = "saylau_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: The pseudo-role of routes open to everyone (health, login, the OpenAPI document).
PUBLIC = "public"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_db(request: Request) -> Database:
    """The database handle the app was built with."""
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def session_user(request: Request, conn: Connection | None = None) -> User | None:
    """The person behind a request's bearer token or session cookie, or None.

    Looked up once per request (one statement, :func:`~saylau.store.accounts.lookup_session`)
    and kept on ``request.state``: ``user``, ``csrf`` (the cookie session's CSRF token; None for
    a bearer token, which a browser never sends by itself) and ``auth_kind``. The API's
    dependencies and the pages both ask here. ``conn``: run the lookup there (the caller's
    transaction) rather than on a connection of its own.
    """
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    token, kind = _bearer(request), "bearer"
    if token is None:
        token, kind = request.cookies.get(SESSION_COOKIE), "cookie"
    info = None
    if token:
        if conn is None:
            with get_db(request).read_conn() as own:
                info = lookup_session(own, token, kind=kind)
        else:
            info = lookup_session(conn, token, kind=kind)
    request.state.user = None if info is None else info.user
    request.state.csrf = None if info is None or kind != "cookie" else info.csrf
    request.state.auth_kind = kind
    return request.state.user  # type: ignore[no-any-return]


def authorize(request: Request, conn: Connection, roles: tuple[str, ...]) -> User:
    """The caller of a write, checked as :func:`allow` checks it, on the caller's connection.

    For a route that does its whole work in one thread-pool call (``POST /api/v1/protocols``,
    the election-night path): the session lookup runs on ``conn``, inside the write's own
    transaction, so the request costs one hop to the thread pool and one connection checkout.
    Same answers as :func:`allow`: 401 without a valid session, 403 for a cookie session
    without its CSRF header (a JSON route is never a form post) or for a role not in ``roles``.
    """
    user = session_user(request, conn)
    csrf = request.state.csrf
    if user is not None and csrf is not None and request.method in _UNSAFE:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None or not hmac.compare_digest(sent, csrf):
            raise AccessDenied("CSRF token missing or wrong", field=CSRF_FIELD)
    return check_role(user, roles)  # type: ignore[return-value]


def check_role(user: User | None, roles: tuple[str, ...]) -> User | None:
    """``user`` if ``roles`` admit them (401 signed out, 403 another role).

    >>> check_role(None, (PUBLIC,)) is None
    True
    """
    if PUBLIC in roles:
        return user
    if user is None:
        raise NotAuthenticated("sign in first (session cookie or bearer token)")
    if user.role not in roles:
        raise AccessDenied(
            f"not allowed for role {user.role}",
            field="role",
            expected=" | ".join(roles),
            found=user.role,
        )
    return user


async def optional_user(request: Request) -> User | None:
    """The signed-in user, or None; checks the CSRF token of cookie-authenticated writes."""
    if hasattr(request.state, "user"):
        known: User | None = request.state.user
        return known
    # one indexed statement, run on the event loop: a hop to the thread pool and back cost
    # more CPU than the statement's wait (bench_service.py, profiled with py-spy)
    user = session_user(request)
    csrf = request.state.csrf
    if user is not None and csrf is not None and request.method in _UNSAFE:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if sent is None or not hmac.compare_digest(sent, csrf):
            raise AccessDenied("CSRF token missing or wrong", field=CSRF_FIELD)
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The signed-in user (401 otherwise)."""
    if user is None:
        raise NotAuthenticated("sign in first (session cookie or bearer token)")
    return user


def require_role(*roles: str) -> Callable[..., Awaitable[User | None]]:
    """A dependency admitting only ``roles`` (``"public"``: everyone, signed in or not)."""
    unknown = set(roles) - {*ROLES, PUBLIC}
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(user: Annotated[User | None, Depends(optional_user)]) -> User | None:
        return check_role(user, roles)

    return dependency


def allow(*roles: str) -> dict[str, Any]:
    """Route keyword arguments: enforce ``roles`` and declare them on the route.

    >>> allow("admin")["openapi_extra"]
    {'x-roles': ['admin']}
    """
    return {
        "dependencies": [Depends(require_role(*roles))],
        "openapi_extra": {"x-roles": list(roles)},
    }


def api_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every API route of an app with its full path, through included routers.

    FastAPI keeps included routers as nested route objects in recent versions; this walks them.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from api_routes(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's cookie session (empty without one); call after auth."""
    return getattr(request.state, "csrf", None) or ""


def start_cookie_session(request: Request, response: Response, user: User) -> str:
    """Open a cookie session for ``user`` on ``response``; return its CSRF token."""
    db = get_db(request)
    with db.write() as session:
        token, csrf = new_session(session, user, kind="cookie")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=get_settings(request).secure_cookies,
        max_age=24 * 3600,
    )
    return csrf


def end_cookie_session(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE) or _bearer(request)
    if token:
        with get_db(request).write() as session:
            end_session(session, token)
    response.delete_cookie(SESSION_COOKIE)


def subtree(session: Session, root: str) -> set[str]:
    """Commission codes at and under ``root``."""
    children: dict[str | None, list[str]] = {}
    for code, parent in session.execute(select(Commission.code, Commission.parent)).all():
        children.setdefault(parent, []).append(code)
    out, todo = set(), [root]
    while todo:
        c = todo.pop()
        if c in out:
            continue
        out.add(c)
        todo.extend(children.get(c, []))
    return out


def scope_stations(session: Session, user: User) -> set[str] | None:
    """Stations a user may see: None for all (admin, analyst); assigned or subtree otherwise."""
    if user.role in ("admin", "analyst"):
        return None
    if user.role == "coordinator":
        comms = subtree(session, user.commission or "")
        return set(session.scalars(select(Station.code).where(Station.commission.in_(comms))))
    return set(user.stations)
