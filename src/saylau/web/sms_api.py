"""The SMS gateway's webhook and the SMS channel's API (``/api/v1/sms``).

The gateway posts each inbound message to ``POST /api/v1/sms/inbound`` as JSON
``{"id": "<gateway message id>", "from": "+7701...", "text": "..."}``, signed: header
``X-Saylau-Timestamp`` (Unix seconds) and ``X-Saylau-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">`` with the shared secret (setting ``sms_secret``, environment
``SAYLAU_SMS_SECRET`` for ``saylau serve``; without it the webhook is off). The answer carries the
reply to send: ``{"message_id", "status", "reply": {"id", "to", "text"}}``. A retry of the same
gateway message (signed again) gets the same reply and records nothing new; the same signed call
again is a replay and is refused. The gateway reports each reply's delivery to
``POST /api/v1/sms/delivery`` (``{"reply_id", "status": "delivered" | "failed", "error"}``), signed
the same way. Refusals (forged, stale, replayed) are audited and change nothing.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._exceptions import DataFormatError
from ..sms.gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_signature
from ..store import sms as store
from ..store.accounts import AccessDenied, User
from ..store.db import Database
from ..store.models import Account, Assignment
from ..store.submissions import NotFound
from .auth import PUBLIC, allow, current_user, get_db, get_settings, scope_stations
from .sms_replies import render_reply

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/sms")
DB = Annotated[Database, Depends(get_db)]
ME = Annotated[User, Depends(current_user)]
MAX_WEBHOOK_BODY = 16_384


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InboundSms(_Model):
    id: str = Field(min_length=1, max_length=100, description="the gateway's message id")
    sender: str = Field(alias="from", min_length=1, max_length=40)
    text: str = Field(max_length=4000)


class DeliveryReport(_Model):
    reply_id: int
    status: str = Field(pattern="^(sent|delivered|failed)$")
    error: str = Field(default="", max_length=500)


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=4, max_length=40)
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$", description="typed; else made")


class AttachIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def _signed(kind: str, model: type[BaseModel]) -> dict[str, Any]:
    kw = allow(PUBLIC)
    kw["openapi_extra"] = {**kw["openapi_extra"], **_schema(model)}
    kw["summary"] = kind
    return kw


async def _verified_body(request: Request) -> bytes:
    """The raw body of a call the gateway signed (404 while the webhook is off)."""
    secret = get_settings(request).sms_secret
    if not secret:
        raise NotFound("the SMS webhook is off (set the sms_secret setting)", field="sms_secret")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BODY:
        raise DataFormatError("webhook body too large", expected=f"<= {MAX_WEBHOOK_BODY} bytes")
    try:
        verify_signature(
            secret.encode(),
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
            now=time.time(),
        )
    except SignatureError as e:  # not the gateway: 403, audited by the error handler
        raise AccessDenied(e.message, field=e.field, expected=e.expected, found=e.found) from None
    return body


def _parse(body: bytes, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(json.loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataFormatError("body is not JSON", field="body") from None
    except ValidationError as e:
        first = e.errors()[0]
        raise DataFormatError(
            str(first.get("msg")), field=".".join(str(p) for p in first.get("loc", ()))
        ) from None


def _answer(db: Database, outcome: store.SmsOutcome) -> dict[str, Any]:
    text = render_reply(outcome)  # the same verdict renders the same reply: kept once
    kept = (store.record_reply(db, outcome, text), text)
    return {
        "message_id": outcome.inbound_id,
        "status": outcome.status,
        "reason": outcome.reason,
        "reply": {"id": kept[0], "to": outcome.number, "text": kept[1]},
    }


@router.post("/inbound", **_signed("An inbound SMS from the gateway (HMAC-signed)", InboundSms))
async def inbound(request: Request, db: DB) -> dict[str, Any]:
    """Store the message, judge it, answer the reply to send (see the module's docs)."""
    body = await _verified_body(request)
    msg: InboundSms = _parse(body, InboundSms)
    signature = request.headers.get(SIGNATURE_HEADER, "").removeprefix("sha256=").lower()

    def work() -> dict[str, Any]:
        inbound_id, _created = store.receive(
            db, gateway_id=msg.id, number=msg.sender, text_=msg.text, signature=signature
        )
        return _answer(db, store.process(db, inbound_id, msg.text))

    return await run_in_threadpool(work)


@router.post("/delivery", **_signed("A reply's delivery report (HMAC-signed)", DeliveryReport))
async def delivery(request: Request, db: DB) -> dict[str, Any]:
    """Record whether a reply reached the observer; failures show on the dashboard."""
    body = await _verified_body(request)
    report: DeliveryReport = _parse(body, DeliveryReport)
    await run_in_threadpool(store.delivery, db, report.reply_id, report.status, report.error)
    return {"reply_id": report.reply_id, "status": report.status}


def _check_observer_scope(db: Database, user: User, username: str) -> None:
    """A coordinator acts only on observers with a station in their subtree."""
    if user.role != "coordinator":
        return
    from sqlalchemy import select

    with db.read() as s:
        scope = scope_stations(s, user) or set()
        acc = s.scalar(select(Account).where(Account.username == username))
        if acc is None:
            raise NotFound("unknown account", field="username", found=username)
        stations = set(s.scalars(select(Assignment.station).where(Assignment.account_id == acc.id)))
    if not stations & scope:
        raise AccessDenied("observer outside your subtree", field="username", found=username)


@router.post("/phones/{username}", **allow("admin", "coordinator"))
def set_phone(username: str, body: PhoneIn, db: DB, user: ME) -> dict[str, Any]:
    """Set an observer's phone number and PIN (typed, or generated and shown this once)."""
    _check_observer_scope(db, user, username)
    with db.write() as s:
        generated = store.set_phone(s, username, body.number, actor=user.username, pin=body.pin)
    out: dict[str, Any] = {"username": username, "number": body.number}
    if generated is not None:
        out["pin"] = generated
    return out


@router.get("/quarantine", **allow("admin", "coordinator"))
def quarantine(db: DB, user: ME) -> list[dict[str, Any]]:
    """Messages from unknown numbers, never counted (PIN masked)."""
    with db.read() as s:
        return store.quarantined(s, scope_stations(s, user))


@router.post("/quarantine/{message_id}/attach", **allow("admin", "coordinator"))
def attach(message_id: str, body: AttachIn, db: DB, user: ME) -> dict[str, Any]:
    """Attach a quarantined message to an observer: it is then judged as theirs (audited)."""
    if not message_id.isdigit():
        raise NotFound("no quarantined message with this id", field="message_id", found=message_id)
    _check_observer_scope(db, user, body.username)
    with db.read() as s:
        visible = {m["id"] for m in store.quarantined(s, scope_stations(s, user))}
    if int(message_id) not in visible:
        raise NotFound("no quarantined message with this id", field="message_id", found=message_id)
    outcome = store.attach(db, int(message_id), body.username, actor=user.username)
    return _answer(db, outcome)


@router.get("/failed-replies", **allow("admin", "coordinator", "analyst"))
def failed_replies(db: DB, user: ME) -> list[dict[str, Any]]:
    """Replies the gateway could not deliver (the observer does not know what was recorded)."""
    with db.read() as s:
        return store.failed_replies(s, scope_stations(s, user))


@router.get("/messages", **allow("admin", "analyst"))
def messages(db: DB, status: str | None = None) -> list[dict[str, Any]]:
    """Every inbound message and how it was judged (PIN masked)."""
    with db.read() as s:
        return store.messages(s, status=status.split(",") if status else None)
