"""The SMS channel's storage: phones and PINs, messages stored before they are judged, lockout,
duplicates, quarantine, replies and their delivery.

A message from the gateway is first stored as received (:func:`receive`; the PIN masked, the
webhook call's signature kept so the same call cannot be replayed), then judged
(:func:`process`):

1. a number no observer has is **quarantined**: kept, never counted, until a coordinator
   attaches it to an observer (:func:`attach`; the coordinator's word stands for the PIN, which
   is never stored and so cannot be checked later);
2. a number with :data:`MAX_PIN_FAILURES` wrong PINs in :data:`PIN_WINDOW` (since its last right
   PIN or PIN change) is **locked**, its messages are not read;
3. the kind, station and PIN are read; a wrong PIN is counted in the database;
4. the whole message is read with the election's codes (:mod:`saylau.sms`);
5. the same text from the same number within :data:`DUPLICATE_WINDOW` of one already accepted is
   a **duplicate**, answered with what the first recorded;
6. otherwise the reports go through :func:`saylau.store.submissions.submit` like a web report
   (same validation, append-only storage and audit) and the message is **recorded**, or
   **rejected** with the reason ``submit`` gave.

Steps 1 to 5 run under a per-number lock (PostgreSQL advisory lock; SQLite serialises writers),
so that two copies of one message arriving at once make one report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets
import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .._exceptions import SaylauInputError
from ..sms import Codebook, SmsError, mask_pin, normalize_number, parse, parse_header
from ..sms.codebook import REFUSED
from ..sms.text import JOINERS, fold, words
from .accounts import AccessDenied, hash_password, load_user, verify_password
from .audit import append_audit
from .db import Database
from .models import (
    Account,
    IncidentCategory,
    SmsInbound,
    SmsOutbound,
    SmsPhone,
    SmsPinAttempt,
    SmsSeenCall,
    Station,
)
from .submissions import IdempotencyConflict, NotFound, load_ballot, submit

__all__ = [
    "DUPLICATE_WINDOW",
    "MAX_PIN_FAILURES",
    "PIN_WINDOW",
    "Replay",
    "SmsOutcome",
    "attach",
    "codebook",
    "delivery",
    "failed_replies",
    "process",
    "quarantined",
    "receive",
    "record_reply",
    "set_phone",
]

#: Wrong PINs from one number, within :data:`PIN_WINDOW`, that lock the number out.
MAX_PIN_FAILURES = 5
PIN_WINDOW = dt.timedelta(hours=1)
#: The same text from the same number within this window is a duplicate, not a second report.
DUPLICATE_WINDOW = dt.timedelta(hours=1)
#: Reasons :func:`saylau.sms.parse_header` gives: judged before the PIN (which they leave unread).
HEADER_REASONS = frozenset({"empty", "too_long", "unknown_kind", "missing_station", "bad_pin"})
FINAL = ("recorded", "duplicate", "rejected", "wrong_pin", "locked", "quarantined")
_LOCK_NAMESPACE = 7_311_972


class Replay(IdempotencyConflict):
    """A webhook call whose signature was seen before (HTTP 409)."""


@dataclasses.dataclass(frozen=True)
class SmsOutcome:
    """How a message was judged: what the reply is rendered from (never holds the PIN)."""

    inbound_id: int
    number: str
    status: str
    reason: str
    detail: dict[str, Any]
    locale: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _fold_code(code: str) -> str:
    return "".join(c for c in fold(code) if c not in JOINERS)


def guess_locale(text_: str) -> str:
    """The language of a message from an unknown number, by its letters.

    >>> guess_locale("Р 12 сәлем"), guess_locale("П 12 привет"), guess_locale("P 12")
    ('kk', 'ru', 'en')
    """
    if any(c in "әғқңөұүһіӘҒҚҢӨҰҮҺІ" for c in text_):
        return "kk"
    if any("\u0400" <= c <= "\u04ff" for c in text_):
        return "ru"
    return "en"


def codebook(session: Session) -> Codebook:
    """The election's SMS codes: its profile's lines, its ballot, its incident categories."""
    ballot = load_ballot(session)
    cats = session.scalars(select(IncidentCategory.code).order_by(IncidentCategory.code)).all()
    return Codebook.build(ballot.profile, ballot.choices, categories=cats)


# ---------------------------------------------------------------- phones and PINs
def set_phone(
    session: Session, username: str, number: str, *, actor: str, pin: str | None = None
) -> str | None:
    """Give an observer a phone number and a PIN (typed, or generated and answered once).

    The PIN is kept as an argon2 hash; setting it lifts a lockout of the number.
    """
    acc = session.scalar(select(Account).where(Account.username == username))
    if acc is None:
        raise NotFound("unknown account", field="username", found=username)
    if acc.role not in ("observer", "interviewer"):
        raise SaylauInputError(
            "only observers and interviewers report by SMS", field="username", found=acc.role
        )
    number = normalize_number(number)
    generated = None
    if pin is None:
        pin = generated = f"{secrets.randbelow(10**6):06d}"
    if not (pin.isdigit() and pin.isascii() and 4 <= len(pin) <= 8):
        raise SaylauInputError("PIN must be 4 to 8 digits", field="pin", expected="4 to 8 digits")
    other = session.scalar(select(SmsPhone).where(SmsPhone.number == number))
    if other is not None and other.account_id != acc.id:
        raise SaylauInputError("number already belongs to another person", field="number")
    row = session.get(SmsPhone, acc.id)
    if row is None:
        row = SmsPhone(account_id=acc.id, number=number, pin_hash="", set_at=_now())
        session.add(row)
    row.number, row.pin_hash, row.set_at = number, hash_password(pin), _now()
    session.flush()
    append_audit(
        session,
        actor=actor,
        action="sms.phone.set",
        target=username,
        detail={"number_end": number[-4:], "pin": "generated" if generated else "typed"},
    )
    return generated


# ---------------------------------------------------------------- receiving
def _text_hash(masked: str) -> str:
    canonical = " ".join(fold(w.text) for w in words(masked))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def receive(
    db: Database, *, gateway_id: str, number: str, text_: str, signature: str
) -> tuple[int, bool]:
    """Store a message as received (PIN masked) before anything judges it.

    Returns (message id, created); the same gateway id again answers the stored message (a
    gateway's retry), the same signature again raises :class:`Replay`.
    """
    number = normalize_number(number)
    for attempt in range(2):
        try:
            with db.write() as s:
                if s.get(SmsSeenCall, signature) is not None:
                    raise Replay(
                        "webhook call already received (replay)", field="X-Saylau-Signature"
                    )
                s.add(SmsSeenCall(signature=signature, at=_now()))
                old = s.scalar(select(SmsInbound).where(SmsInbound.gateway_id == gateway_id))
                if old is not None:
                    return old.id, False
                masked = mask_pin(text_)
                msg = SmsInbound(
                    gateway_id=gateway_id,
                    number=number,
                    text=masked,
                    text_hash=_text_hash(masked),
                    received_at=_now(),
                    status="received",
                    reason="",
                    detail={},
                    locale=guess_locale(text_),
                )
                s.add(msg)
                s.flush()
                append_audit(
                    s,
                    actor="sms-gateway",
                    action="sms.receive",
                    target=f"sms:{msg.id}",
                    detail={"gateway_id": gateway_id},
                )
                return msg.id, True
        except IntegrityError:
            if attempt:  # a concurrent call with the same signature or gateway id won
                raise Replay(
                    "webhook call already received (replay)", field="X-Saylau-Signature"
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _lock(session: Session, number: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(number.encode()) - 2**31
        session.execute(
            text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _LOCK_NAMESPACE, "b": key}
        )


def _failures(session: Session, number: str, since: dt.datetime) -> int:
    last_ok = session.scalar(
        select(func.max(SmsPinAttempt.at)).where(SmsPinAttempt.number == number, SmsPinAttempt.ok)
    )
    if last_ok is not None:
        since = max(since, _aware(last_ok))
    return int(
        session.scalar(
            select(func.count())
            .select_from(SmsPinAttempt)
            .where(SmsPinAttempt.number == number, ~SmsPinAttempt.ok, SmsPinAttempt.at > since)
        )
        or 0
    )


def _final(session: Session, msg: SmsInbound, status: str, reason: str, **detail: Any) -> None:
    msg.status, msg.reason = status, reason
    msg.detail = {**(msg.detail or {}), **detail}
    append_audit(
        session,
        actor="sms-gateway",
        action=f"sms.{status}",
        target=f"sms:{msg.id}",
        detail={"reason": reason, "station": msg.station},
    )


def _outcome(msg: SmsInbound) -> SmsOutcome:
    return SmsOutcome(
        msg.id, msg.number, msg.status, msg.reason, dict(msg.detail or {}), msg.locale
    )


def _sms_error(e: SmsError) -> dict[str, Any]:
    return {"position": e.position, "token": e.token, "expected": e.expected, "found": e.found}


def process(db: Database, inbound_id: int, text_: str | None = None) -> SmsOutcome:
    """Judge a stored message (see the module's steps); answer how it was judged.

    ``text_`` is the message as typed (with its PIN); None for a message a coordinator
    attached, whose PIN is not checked. The PIN's argon2 check and the parsing run outside any
    write transaction (SQLite has one writer at a time); the verdict is written under the
    number's lock, after counting the failures again.
    """
    with db.read() as s:
        msg = s.get(SmsInbound, inbound_id)
        if msg is None:
            raise NotFound("unknown SMS message", field="id", found=inbound_id)
        if msg.status in FINAL:
            return _outcome(msg)
        attached = text_ is None
        phone = (
            None if attached else s.scalar(select(SmsPhone).where(SmsPhone.number == msg.number))
        )
        acc_id = msg.account_id if attached else (None if phone is None else phone.account_id)
        acc = None if acc_id is None else s.get(Account, acc_id)
        user = None if acc is None or not acc.active else load_user(s, acc.id)
        now = _now()
        since = now if phone is None else max(now - PIN_WINDOW, _aware(phone.set_at))
        locked = phone is not None and _failures(s, msg.number, since) >= MAX_PIN_FAILURES
        book = codebook(s)
        stations = {_fold_code(c): c for c in s.scalars(select(Station.code))}
    raw = text_ if text_ is not None else msg.text.replace("****", "0000", 1)
    header_error: SmsError | None = None
    error: SmsError | None = None
    report = None
    try:
        header, _rest = parse_header(raw)
        report = parse(raw, book)
    except SmsError as e:
        if report is None and e.reason in HEADER_REASONS:
            header_error = e
        error = e
    pin_ok = None
    if phone is not None and user is not None and not locked and header_error is None:
        pin_ok = verify_password(phone.pin_hash, header.pin)  # ~30 ms of argon2, no lock held
    misplaced = None  # the PIN typed in the wrong place ("P 4321 245 ..."): masked there too
    if phone is not None and header_error is not None and header_error.reason == "bad_pin":
        misplaced = next(
            (
                w.position
                for w in words(raw)[:4]
                if w.position != 3
                and re.fullmatch(r"\d{4,8}", w.folded)
                and verify_password(phone.pin_hash, w.folded)
            ),
            None,
        )
    with db.write() as s:
        msg = s.get(SmsInbound, inbound_id)
        assert msg is not None
        _lock(s, msg.number)
        s.refresh(msg)
        if msg.status in FINAL:
            return _outcome(msg)
        if user is None:
            _final(s, msg, "quarantined", "unknown_number")
            return _outcome(msg)
        msg.account_id, msg.locale = user.id, user.locale
        if phone is not None and _failures(s, msg.number, since) >= MAX_PIN_FAILURES:
            _final(s, msg, "locked", "locked", minutes=int(PIN_WINDOW.total_seconds() // 60))
            return _outcome(msg)
        if header_error is not None:
            if misplaced is not None:
                msg.text = mask_pin(msg.text, misplaced)
                msg.text_hash = _text_hash(msg.text)
            _final(s, msg, "rejected", header_error.reason, **_sms_error(header_error))
            return _outcome(msg)
        if pin_ok is not None:
            s.add(SmsPinAttempt(number=msg.number, ok=pin_ok, at=now))
            s.flush()
            if not pin_ok:
                left = MAX_PIN_FAILURES - _failures(s, msg.number, since)
                _final(s, msg, "wrong_pin", "wrong_pin", left=max(left, 0))
                return _outcome(msg)
        if error is not None or report is None:
            assert error is not None
            _final(s, msg, "rejected", error.reason, **_sms_error(error))
            return _outcome(msg)
        station = stations.get(report.station)
        if station is None:
            _final(s, msg, "rejected", "unknown_station", position=2, token=header.station_text)
            return _outcome(msg)
        msg.station = station
        earlier = s.scalar(
            select(SmsInbound)
            .where(
                SmsInbound.number == msg.number,
                SmsInbound.text_hash == msg.text_hash,
                SmsInbound.id != msg.id,
                SmsInbound.status.in_(("recorded", "accepted")),
                SmsInbound.received_at >= now - DUPLICATE_WINDOW,
            )
            .order_by(SmsInbound.id)
            .limit(1)
        )
        if earlier is not None:
            _final(
                s,
                msg,
                "duplicate",
                "duplicate",
                duplicate_of=earlier.id,
                submissions=list((earlier.detail or {}).get("submissions", [])),
            )
            return _outcome(msg)
        msg.status = "accepted"
        msg.detail = {"kind": report.kind}
    return _submit_all(db, inbound_id, user, report, station, book)


def _bodies(report: Any, msg_id: int, received: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    via = {"via": "sms", "sms": msg_id}
    if report.kind == "protocol" and report.figures:
        out.append(("protocol", {"lines": dict(report.figures), "note": None, **via}))
    if report.kind == "tally":
        records: list[dict[str, Any]] = []
        for choice, n in report.figures.items():
            records.extend(
                {"choice": REFUSED if choice == REFUSED else choice} for _ in range(n or 0)
            )
        out.append(("interviews", {"records": records, **via}))
    if report.kind == "headcount":
        readings = []
        for checkpoint, count in report.figures.items():
            reading: dict[str, Any] = {"checkpoint": checkpoint, "count": count}
            if checkpoint in report.official:
                reading["official"] = report.official[checkpoint]
            readings.append(reading)
        out.append(("headcount", {"readings": readings, "note": None, **via}))
    for code in report.incidents:
        out.append(
            (
                "incident",
                {
                    "category": code,
                    "phase": None,
                    "text": report.note or "SMS",
                    "observed_at": None,
                    "reporter_role": "observer",
                    "complaint": "not_filed",
                    "police": None,
                    "media": [],
                    **via,
                },
            )
        )
    return out


def _submit_all(
    db: Database, msg_id: int, user: Any, report: Any, station: str, book: Codebook
) -> SmsOutcome:
    with db.read() as s:
        msg = s.get(SmsInbound, msg_id)
        assert msg is not None
        received = msg.received_at.isoformat()
        profile = load_ballot(s).profile
    numbers = {key: int(code) for code, key in book.lines}
    done: list[dict[str, Any]] = []
    failure: tuple[str, dict[str, Any]] | None = None
    for i, (kind, body) in enumerate(_bodies(report, msg_id, received)):
        try:
            st = submit(
                db, user, kind=kind, station=station, idem_key=f"sms:{msg_id}:{i}", body=body
            )
        except SaylauInputError as e:
            failure = _refusal(e, book)
            break
        checks = []
        for v in st.violations:
            rel = next((r for r in profile.relations if r.name == v.get("relation")), None)
            if rel is not None:
                rule = rel.formula(numbers).replace("Σ votes", "ΣK")  # K1 + K2 + ...
                checks.append(f"{rule}: {v.get('found')} ≠ {v.get('expected')}")
        n = len(body.get("records", ())) if kind == "interviews" else len(report.figures)
        done.append(
            {
                "id": st.id,
                "kind": kind,
                "station": station,
                "status": st.status,
                "n": n,
                "category": body.get("category", ""),
                "checks": checks[:2],
            }
        )
    with db.write() as s:
        msg = s.get(SmsInbound, msg_id)
        assert msg is not None
        if failure is not None and not done:
            _final(s, msg, "rejected", failure[0], submissions=[], **failure[1])
        elif failure is not None:
            _final(s, msg, "recorded", "partly", submissions=done, **failure[1], refused=failure[0])
        else:
            _final(
                s,
                msg,
                "recorded",
                "recorded",
                submissions=done,
                figures=len(report.figures),
                incidents=list(report.incidents),
            )
        return _outcome(msg)


def _refusal(e: SaylauInputError, book: Codebook) -> tuple[str, dict[str, Any]]:
    """A refusal by ``submit`` as a reason code and what the reply names."""
    field = e.field or ""
    if isinstance(e, AccessDenied) and field == "station":
        return "not_assigned", {"token": str(e.found)}
    if isinstance(e, AccessDenied):
        return "wrong_role", {"token": str(e.found)}
    if field.startswith("lines."):
        key = field[6:]
        code = book.code_of(key) or key
        if "missing" in e.message:
            return "line_missing", {"token": code}
        return "bad_line", {"token": code, "message": e.message}
    return "refused", {"message": e.message, "field": field}


# ---------------------------------------------------------------- attach, replies, lists
def attach(db: Database, inbound_id: int, username: str, *, actor: str) -> SmsOutcome:
    """A coordinator attaches a quarantined message to an observer; it is then judged as theirs
    (audited; the PIN is not checked: it was never stored)."""
    with db.write() as s:
        msg = s.get(SmsInbound, inbound_id)
        if msg is None or msg.status != "quarantined":
            raise NotFound("no quarantined message with this id", field="id", found=inbound_id)
        acc = s.scalar(select(Account).where(Account.username == username))
        if acc is None or acc.role not in ("observer", "interviewer"):
            raise NotFound("no observer with this username", field="username", found=username)
        msg.account_id, msg.status, msg.reason = acc.id, "received", ""
        append_audit(
            s,
            actor=actor,
            action="sms.attach",
            target=f"sms:{msg.id}",
            detail={"observer": username},
        )
    return process(db, inbound_id, None)


def record_reply(db: Database, outcome: SmsOutcome, reply: str) -> int:
    """Keep the reply handed to the gateway; answer its id. A retry answering the same reply
    gets the same id; a new verdict (a quarantined message attached) makes a new reply."""
    with db.write() as s:
        _lock(s, outcome.number)  # two retries answered at once keep one reply
        last = s.scalar(
            select(SmsOutbound)
            .where(SmsOutbound.inbound_id == outcome.inbound_id)
            .order_by(SmsOutbound.id.desc())
            .limit(1)
        )
        if last is not None and last.text == reply:
            return int(last.id)
        now = _now()
        row = SmsOutbound(
            inbound_id=outcome.inbound_id,
            number=outcome.number,
            text=reply,
            status="queued",
            error="",
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        return int(row.id)


def delivery(db: Database, reply_id: int, status: str, error: str = "") -> None:
    """The gateway's delivery report for a reply (``delivered`` or ``failed``; audited)."""
    if status not in ("sent", "delivered", "failed"):
        raise SaylauInputError(
            "unknown delivery status",
            field="status",
            expected="sent | delivered | failed",
            found=status,
        )
    with db.write() as s:
        row = s.get(SmsOutbound, reply_id)
        if row is None:
            raise NotFound("unknown reply", field="reply_id", found=reply_id)
        row.status, row.error, row.updated_at = status, error[:500], _now()
        append_audit(
            s,
            actor="sms-gateway",
            action=f"sms.delivery.{status}",
            target=f"sms-reply:{reply_id}",
            detail={"error": error[:200]},
        )


def _in_scope(station: str | None, scope: set[str] | None) -> bool:
    return scope is None or (station is not None and station in scope)


def quarantined(session: Session, scope: set[str] | None = None) -> list[dict[str, Any]]:
    """Messages from unknown numbers (PIN masked); a coordinator sees those naming a station
    of their subtree."""
    rows = session.scalars(
        select(SmsInbound).where(SmsInbound.status == "quarantined").order_by(SmsInbound.id)
    )
    stations = {_fold_code(c): c for c in session.scalars(select(Station.code))}
    out = []
    for m in rows:
        ws = words(m.text)
        named = stations.get(ws[1].folded) if len(ws) > 1 else None
        if not _in_scope(named, scope):
            continue
        out.append(
            {
                "id": m.id,
                "number": m.number,
                "text": m.text,
                "station": named,
                "received_at": m.received_at.isoformat(),
            }
        )
    return out


def failed_replies(session: Session, scope: set[str] | None = None) -> list[dict[str, Any]]:
    """Replies the gateway could not deliver, newest first."""
    q = (
        select(SmsOutbound, SmsInbound.station)
        .join(SmsInbound, SmsInbound.id == SmsOutbound.inbound_id, isouter=True)
        .where(SmsOutbound.status == "failed")
        .order_by(SmsOutbound.id.desc())
    )
    return [
        {
            "id": o.id,
            "number": o.number,
            "station": st,
            "text": o.text,
            "error": o.error,
            "at": o.updated_at.isoformat(),
        }
        for o, st in session.execute(q).all()
        if _in_scope(st, scope)
    ]


def messages(session: Session, *, status: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every inbound message with how it was judged (PIN masked), oldest first."""
    q = select(SmsInbound).order_by(SmsInbound.id)
    if status:
        q = q.where(SmsInbound.status.in_(list(status)))
    return [
        {
            "id": m.id,
            "gateway_id": m.gateway_id,
            "number": m.number,
            "text": m.text,
            "status": m.status,
            "reason": m.reason,
            "station": m.station,
            "received_at": m.received_at.isoformat(),
        }
        for m in session.scalars(q)
    ]
