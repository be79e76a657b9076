"""People, roles, passwords (argon2), sessions and tokens, login throttling: all in the database.

Roles (least privilege):

``admin``        sets up the election, manages people, imports official results;
``coordinator``  sees and resolves inside the subtree of its commission;
``observer``     submits protocol copies and incidents for its assigned stations only;
``interviewer``  submits exit-poll interview batches for its assigned stations only;
``transcriber``  types in the photos handed to it, never seeing who sent them;
``analyst``      reads everything, changes nothing.

Secrets are never stored: passwords as argon2id hashes, session and bearer tokens as SHA-256.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.orm import Session

from .._exceptions import SaylauInputError
from .audit import append_audit
from .models import Account, Assignment, LoginAttempt, WebSession

__all__ = [
    "ROLES",
    "AccessDenied",
    "LoginThrottled",
    "NotAuthenticated",
    "SessionInfo",
    "User",
    "authenticate",
    "change_account",
    "create_account",
    "end_session",
    "generate_password",
    "hash_password",
    "list_accounts",
    "load_user",
    "lookup_session",
    "new_session",
    "verify_password",
]

ROLES = ("admin", "coordinator", "observer", "interviewer", "transcriber", "analyst")
LOCALES = ("kk", "ru", "en")
#: Failed logins tolerated in :data:`WINDOW` per account and per address before refusing.
MAX_FAILURES_ACCOUNT, MAX_FAILURES_ADDRESS = 5, 30
WINDOW = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=24)
MIN_PASSWORD = 10

# Modest argon2id costs: a login takes ~30 ms on one core, election night has few logins.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class AccessDenied(SaylauInputError):
    """The user may not do this (HTTP 403)."""


class NotAuthenticated(SaylauInputError):
    """No valid session or token (HTTP 401)."""


class LoginThrottled(SaylauInputError):
    """Too many failed logins for this account or address (HTTP 429)."""


@dataclasses.dataclass(frozen=True)
class User:
    """A signed-in person as the web layer sees them."""

    id: int
    username: str
    full_name: str
    role: str
    commission: str | None
    locale: str
    stations: frozenset[str]


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    user: User
    kind: str
    csrf: str


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``.

    >>> verify_password(hash_password("correct horse 1"), "correct horse 1")
    True
    """
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored argon2 hash."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A random password of 16 URL-safe characters (about 96 bits)."""
    return secrets.token_urlsafe(12)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    actor: str,
    full_name: str = "",
    commission: str | None = None,
    locale: str = "kk",
    stations: tuple[str, ...] = (),
) -> int:
    """Add a person (audited); return the account id."""
    if role not in ROLES:
        raise SaylauInputError("unknown role", field="role", expected=" | ".join(ROLES), found=role)
    if locale not in LOCALES:
        raise SaylauInputError(
            "unknown locale", field="locale", expected=" | ".join(LOCALES), found=locale
        )
    if len(password) < MIN_PASSWORD:
        raise SaylauInputError(
            "password too short", field="password", expected=f">= {MIN_PASSWORD} characters"
        )
    if not username.strip():
        raise SaylauInputError("username is empty", field="username")
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise SaylauInputError("username already taken", field="username", found=username)
    acc = Account(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role,
        commission=commission,
        locale=locale,
        active=True,
        created_at=_now(),
    )
    session.add(acc)
    session.flush()
    for st in stations:
        session.add(Assignment(account_id=acc.id, station=st))
    append_audit(
        session,
        actor=actor,
        action="account.create",
        target=username,
        detail={"role": role, "commission": commission, "stations": list(stations)},
    )
    return acc.id


def load_user(session: Session, account_id: int) -> User | None:
    acc = session.get(Account, account_id)
    if acc is None or not acc.active:
        return None
    stations = session.scalars(select(Assignment.station).where(Assignment.account_id == acc.id))
    return _as_user(acc, stations)


def _as_user(acc: Account, stations: Iterable[str]) -> User:
    places = frozenset(stations)
    return User(acc.id, acc.username, acc.full_name, acc.role, acc.commission, acc.locale, places)


def authenticate(
    session: Session, *, username: str, password: str, address: str
) -> User | SaylauInputError:
    """Check a password with throttling per account and per address; failures are audited.

    A failure is returned, not raised, so that the caller commits its record (the attempt
    counted for throttling, the audit entry) before answering.

    Returns
    -------
    User
        On success.
    LoginThrottled
        Too many failures in the last 15 minutes for this account or this address.
    NotAuthenticated
        Wrong username or password (the same answer for both).
    """
    since = _now() - WINDOW
    fails_user = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, ~LoginAttempt.ok, LoginAttempt.at >= since)
    )
    fails_addr = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.address == address, ~LoginAttempt.ok, LoginAttempt.at >= since)
    )
    if (fails_user or 0) >= MAX_FAILURES_ACCOUNT or (fails_addr or 0) >= MAX_FAILURES_ADDRESS:
        append_audit(
            session, actor=username[:100] or "-", action="login.throttled", target=address[:64]
        )
        return LoginThrottled("too many failed logins; wait 15 minutes", field="username")
    acc = session.scalar(select(Account).where(Account.username == username))
    # the same work whether the account exists or not: no username probing by timing
    stored = acc.password_hash if acc is not None else _dummy_hash()
    ok = verify_password(stored, password) and acc is not None and acc.active
    session.add(LoginAttempt(username=username[:100], address=address[:64], ok=ok, at=_now()))
    if not ok or acc is None:
        append_audit(
            session, actor=username[:100] or "-", action="login.failure", target=address[:64]
        )
        return NotAuthenticated("wrong username or password", field="password")
    if _hasher.check_needs_rehash(acc.password_hash):
        acc.password_hash = hash_password(password)
    user = load_user(session, acc.id)
    assert user is not None
    return user


def new_session(session: Session, user: User, *, kind: str) -> tuple[str, str]:
    """Open a cookie session or a bearer token; return (token, csrf token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = _now()
    session.add(
        WebSession(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            account_id=user.id,
            kind=kind,
            csrf=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token, csrf


def lookup_session(session: Session | Connection, token: str, *, kind: str) -> SessionInfo | None:
    """The user behind a token of the given kind, or None when unknown or expired.

    One statement (the session, its account and the account's stations joined): every API
    request asks this first, so it costs one round trip to the database.
    """
    conn = session.connection() if isinstance(session, Session) else session
    rows = conn.execute(_LOOKUP, {"h": hashlib.sha256(token.encode()).hexdigest()}).all()
    if not rows:
        return None
    r = rows[0]
    if r.kind != kind or _aware(r.expires_at) < _now() or not r.active:
        return None
    places = frozenset(x.station for x in rows if x.station is not None)
    user = User(r.id, r.username, r.full_name, r.role, r.commission, r.locale, places)
    return SessionInfo(user, r.kind, r.csrf)


# built once (its cache key is memoised on the object): every API request runs it
_ws, _acc, _asg = WebSession.__table__, Account.__table__, Assignment.__table__
_LOOKUP = (
    select(
        _ws.c.kind,
        _ws.c.expires_at,
        _ws.c.csrf,
        _acc.c.id,
        _acc.c.username,
        _acc.c.full_name,
        _acc.c.role,
        _acc.c.commission,
        _acc.c.locale,
        _acc.c.active,
        _asg.c.station,
    )
    .select_from(
        _ws.join(_acc, _acc.c.id == _ws.c.account_id).join(
            _asg, _asg.c.account_id == _acc.c.id, isouter=True
        )
    )
    .where(_ws.c.token_hash == bindparam("h"))
)


def end_session(session: Session, token: str) -> None:
    """Forget a session or token."""
    session.execute(
        delete(WebSession).where(
            WebSession.token_hash == hashlib.sha256(token.encode()).hexdigest()
        )
    )


def change_account(
    session: Session,
    username: str,
    *,
    actor: str,
    role: str | None = None,
    commission: str | None = None,
    stations: tuple[str, ...] | None = None,
    active: bool | None = None,
    reset_password: bool = False,
) -> tuple[dict[str, tuple[Any, Any]], str | None]:
    """Change a person's role, subtree, stations or status (audited); sessions of a person whose
    rights changed are ended. Returns the changes and, on a reset, the new one-time password."""
    acc = session.scalar(select(Account).where(Account.username == username))
    if acc is None:
        raise SaylauInputError("unknown account", field="username", found=username)
    diff: dict[str, tuple[Any, Any]] = {}
    if role is not None and role != acc.role:
        if role not in ROLES:
            raise SaylauInputError(
                "unknown role", field="role", expected=" | ".join(ROLES), found=role
            )
        diff["role"] = (acc.role, role)
        acc.role = role
    if commission is not None and commission != (acc.commission or ""):
        diff["commission"] = (acc.commission, commission or None)
        acc.commission = commission or None
    if active is not None and active != acc.active:
        diff["active"] = (acc.active, active)
        acc.active = active
    if stations is not None:
        old = tuple(
            sorted(
                session.scalars(select(Assignment.station).where(Assignment.account_id == acc.id))
            )
        )
        if old != tuple(sorted(stations)):
            diff["stations"] = (old, tuple(sorted(stations)))
            session.execute(delete(Assignment).where(Assignment.account_id == acc.id))
            for st in stations:
                session.add(Assignment(account_id=acc.id, station=st))
    password = None
    if reset_password:
        password = generate_password()
        acc.password_hash = hash_password(password)
        diff["password"] = ("-", "reset")
    if diff:
        session.execute(delete(WebSession).where(WebSession.account_id == acc.id))
        append_audit(
            session,
            actor=actor,
            action="account.change",
            target=username,
            detail={k: [str(a), str(b)] for k, (a, b) in diff.items()},
        )
    return diff, password


def list_accounts(session: Session) -> list[dict[str, Any]]:
    """Every person: username, name, role, subtree, stations, locale, active (no secrets)."""
    stations: dict[int, list[str]] = {}
    for acc_id, st in session.execute(select(Assignment.account_id, Assignment.station)).all():
        stations.setdefault(acc_id, []).append(st)
    return [
        {
            "username": a.username,
            "full_name": a.full_name,
            "role": a.role,
            "commission": a.commission,
            "stations": sorted(stations.get(a.id, [])),
            "locale": a.locale,
            "active": a.active,
        }
        for a in session.scalars(select(Account).order_by(Account.username))
    ]
