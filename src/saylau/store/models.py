"""The observer service's database schema (SQLAlchemy 2 typed declarative models).

Only :mod:`saylau.store` touches these classes; repositories hand the rest of saylau plain
dataclasses or Polars tables. The first Alembic migration (``migrations/versions/0001``)
creates exactly these tables; a test checks that the two agree.

Three kinds of table:

* master data, updated by stable code on re-import: ``commission``, ``station``, ``choice``,
  ``setting``, ``sample_station``, ``account``, ``assignment``, ``incident_category``;
* events, append-only: ``submission`` (every protocol copy, incident, interview batch and
  transcription as received, keyed by the client's idempotency key), ``blob`` (photos by
  SHA-256), ``protocol_check``, ``resolution``, ``verification``, ``handout``,
  ``official_snapshot`` / ``official_row``, ``audit_log`` (hash-chained);
* derived or operational state kept in the database so that the server process holds none:
  ``web_session``, ``login_attempt``, ``live_estimate``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Account",
    "Assignment",
    "AuditEntry",
    "Base",
    "Blob",
    "Choice",
    "Commission",
    "Handout",
    "IncidentCategory",
    "LiveEstimate",
    "LoginAttempt",
    "OfficialRow",
    "OfficialSnapshot",
    "ProtocolCheck",
    "Resolution",
    "SampleStation",
    "Setting",
    "SmsInbound",
    "SmsOutbound",
    "SmsPhone",
    "SmsPinAttempt",
    "SmsSeenCall",
    "Station",
    "Submission",
    "Verification",
    "WebSession",
]


class Base(DeclarativeBase):
    """Declarative base of every saylau table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that comes back timezone-aware (UTC) on SQLite too, which drops the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value  # type: ignore[no-any-return]


def _ts() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime())


class Commission(Base):
    __tablename__ = "commission"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(32))
    parent: Mapped[str | None] = mapped_column(String(64), index=True)


class Station(Base):
    __tablename__ = "station"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    commission: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(300))
    registered: Mapped[int] = mapped_column(Integer)


class Choice(Base):
    __tablename__ = "choice"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)
    against_all: Mapped[bool] = mapped_column(Boolean)


class Setting(Base):
    """Election-wide settings: the protocol profile, sample draw records."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


class SampleStation(Base):
    __tablename__ = "sample_station"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # quick_count | exit_poll
    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(300))
    prob: Mapped[float] = mapped_column()


class Account(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    commission: Mapped[str | None] = mapped_column(String(64))  # coordinator's subtree
    locale: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = _ts()


class Assignment(Base):
    __tablename__ = "assignment"
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    station: Mapped[str] = mapped_column(String(64), primary_key=True)


class IncidentCategory(Base):
    __tablename__ = "incident_category"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    phase: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    examples: Mapped[str] = mapped_column(Text)


class WebSession(Base):
    """A login: a cookie session (pages) or a bearer token (API); only the SHA-256 is kept."""

    __tablename__ = "web_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # cookie | bearer
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = _ts()
    expires_at: Mapped[dt.datetime] = _ts()


class LoginAttempt(Base):
    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = _ts()


class Blob(Base):
    """Content-addressed media (protocol photos, incident media)."""

    __tablename__ = "blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = _ts()


class Submission(Base):
    """One event as received: the raw body, who sent it, its idempotency key, what it replaces."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("account_id", "idem_key", name="uq_submission_idem"),
        Index("ix_submission_kind_station", "kind", "station"),
        Index("ix_submission_idem_key", "idem_key"),  # a key replayed by another person
        Index("ix_submission_replaces", "replaces"),  # the newest version of a submission
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # protocol | incident | interviews | transcription
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    idem_key: Mapped[str] = mapped_column(String(100))
    body_hash: Mapped[str] = mapped_column(String(64))
    station: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    photo: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    replaces: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    received_at: Mapped[dt.datetime] = _ts()


class ProtocolCheck(Base):
    """The judgement of a protocol copy by the profile's control relations (after storage)."""

    __tablename__ = "protocol_check"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # ok | soft | failed | photo_only
    violations: Mapped[list[Any]] = mapped_column(JSON)


class Handout(Base):
    """A photo handed to a transcriber (double entry)."""

    __tablename__ = "handout"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    at: Mapped[dt.datetime] = _ts()


class Resolution(Base):
    """A coordinator's decision on a station's conflicting copies (append-only; latest holds)."""

    __tablename__ = "resolution"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(64), index=True)
    chosen: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    reason: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    at: Mapped[dt.datetime] = _ts()


class Verification(Base):
    """A coordinator's verification of an incident report (append-only; latest holds)."""

    __tablename__ = "verification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # unverified | confirmed | rejected
    reason: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    at: Mapped[dt.datetime] = _ts()


class OfficialSnapshot(Base):
    __tablename__ = "official_snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = _ts()
    stations: Mapped[int] = mapped_column(Integer)


class OfficialRow(Base):
    __tablename__ = "official_row"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("official_snapshot.id"), primary_key=True)
    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    lines: Mapped[dict[str, Any]] = mapped_column(JSON)


class LiveEstimate(Base):
    """The cached live count (quick count, exit poll), recomputed when reports arrive."""

    __tablename__ = "live_estimate"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    inputs: Mapped[str] = mapped_column(String(64))  # fingerprint of what it was computed from
    computed_at: Mapped[dt.datetime] = _ts()
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditEntry(Base):
    """One write, appended unsealed and chained later by the sealer (see :mod:`saylau.store.audit`).

    ``id`` is the order of insertion (not of commit); ``seq``, ``prev_hash`` and ``hash`` are
    empty until the sealer gives the entry its place in the chain (0004_audit_seal).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_seq", "seq", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text)
    own_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


# ---------------------------------------------------------------- the SMS channel (0002_sms)
class SmsPhone(Base):
    """An observer's phone number and SMS PIN (argon2 hash; the PIN itself is never stored)."""

    __tablename__ = "sms_phone"
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(300))
    set_at: Mapped[dt.datetime] = _ts()


class SmsInbound(Base):
    """A message as the gateway delivered it, stored before it is judged (PIN masked).

    ``status``: received → recorded | duplicate | rejected | wrong_pin | locked | quarantined;
    ``reason`` a stable code; ``detail`` what the reply needs (token, position, ids...).
    """

    __tablename__ = "sms_inbound"
    __table_args__ = (Index("ix_sms_inbound_number_hash", "number", "text_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(String(100), unique=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = _ts()
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    station: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))


class SmsPinAttempt(Base):
    """One PIN check of a number (lockout counts the failures here, not in a process)."""

    __tablename__ = "sms_pin_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = _ts()


class SmsOutbound(Base):
    """A reply handed to the gateway, with its delivery status (queued | delivered | failed)."""

    __tablename__ = "sms_outbound"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("sms_inbound.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _ts()
    updated_at: Mapped[dt.datetime] = _ts()


class SmsSeenCall(Base):
    """A signature of a webhook call already accepted: the same call again is a replay."""

    __tablename__ = "sms_seen_call"
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[dt.datetime] = _ts()
