"""Submissions as events: stored raw and append-only, keyed by the client's idempotency key.

A submission is written before it is judged. The client sends an idempotency key with each;
the same key with the same body returns the stored submission (a phone's retry never makes a
duplicate), the same key with a different body is refused (:class:`IdempotencyConflict`, HTTP
409, as ODK Central refuses a changed resubmission). A correction is a new submission naming the
one it ``replaces``; nothing is overwritten. Keys are the client's (random UUIDs made on the
phone): a key already used by another person is a replayed entry and is refused, and a version
naming a submission that a newer one already replaced is refused (a stale device never forks
the history). A protocol copy is then judged by the profile's
control relations (:func:`saylau.domain.checks.check_row`) and marked ok / soft / failed; the
judgement is a row of its own.

Kinds: ``protocol`` (lines and/or a photo), ``incident``, ``interviews`` (exit-poll batch),
``transcription`` (a transcriber's typing of a photo-only copy).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, bindparam, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .._exceptions import DataFormatError, SaylauInputError
from ..domain.checks import check_row
from ..domain.profiles import ProtocolProfile, get_profile
from ..survey.interviews import identifying_columns, interviews_from_frame
from ..turnout.headcount import checkpoint_minutes
from .accounts import AccessDenied, User
from .audit import append_audit
from .db import Database
from .models import (
    Blob,
    Choice,
    Handout,
    IncidentCategory,
    ProtocolCheck,
    Setting,
    Station,
    Submission,
)

__all__ = [
    "COMPLAINT_STATUSES",
    "KINDS",
    "Ballot",
    "IdempotencyConflict",
    "NotFound",
    "PayloadTooLarge",
    "Stored",
    "load_ballot",
    "sniff_image",
    "submit",
]

KINDS = ("protocol", "incident", "interviews", "transcription", "headcount")
MAX_READINGS = 48
COMPLAINT_STATUSES = ("not_filed", "filed", "rejected", "answered")
REPORTER_ROLES = ("observer", "voter", "commission_member", "journalist", "other")
MAX_TEXT = 10_000
MAX_INTERVIEWS = 5_000


class IdempotencyConflict(SaylauInputError):
    """The idempotency key was used before with a different body (HTTP 409)."""


class NotFound(SaylauInputError):
    """A station, submission or category that does not exist (HTTP 404)."""


class PayloadTooLarge(SaylauInputError):
    """An upload over the size limit (HTTP 413)."""


@dataclasses.dataclass(frozen=True)
class Stored:
    """A stored submission as the API reports it."""

    id: int
    kind: str
    station: str
    created: bool
    status: str | None
    replaces: int | None
    received_at: str
    photo: str | None = None
    violations: tuple[dict[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True)
class Ballot:
    """The election's protocol profile and ballot, as set up by the admin."""

    profile: ProtocolProfile
    choices: tuple[str, ...]
    against_all: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every figure a protocol copy carries: the profile's lines, then the choices."""
        return (*self.profile.line_keys, *self.choices)


def load_ballot(session: Session) -> Ballot:
    """The profile (default ``plain``) and the choices in ballot order.

    One statement (the profile setting as a column of the choices' rows): every protocol copy
    reads it.
    """
    setting = select(Setting.value).where(Setting.key == "profile").scalar_subquery()
    rows = session.execute(
        select(Choice.code, Choice.against_all, setting).order_by(Choice.position)
    ).all()
    if rows:
        value = rows[0][2]
    else:  # no choices yet: the setting alone
        row = session.get(Setting, "profile")
        value = None if row is None else row.value
    return _ballot(value, rows)


def _ballot(value: Any, rows: Sequence[Any]) -> Ballot:
    profile = get_profile(value["name"] if value is not None else "plain")
    return Ballot(profile, tuple(r[0] for r in rows), tuple(r[0] for r in rows if r[1]))


# A new submission's first statement (built once; its cache key is memoised on the object):
# the ballot (choices with the profile setting), whether the station exists and whether the
# idempotency key was seen, in one round trip instead of three.
_ch, _set, _st, _sub = (
    Choice.__table__,
    Setting.__table__,
    Station.__table__,
    Submission.__table__,
)
_sub_t: Table = Submission.__table__  # type: ignore[assignment]
_check_t: Table = ProtocolCheck.__table__  # type: ignore[assignment]
_INSERT_SUB = insert(_sub_t).returning(_sub_t.c.id)
_INSERT_CHECK = insert(_check_t)
_PRECHECK = select(
    _ch.c.code,
    _ch.c.against_all,
    select(_set.c.value).where(_set.c.key == "profile").scalar_subquery().label("profile"),
    exists().where(_st.c.code == bindparam("station")).label("station_known"),
    exists().where(_sub.c.idem_key == bindparam("key")).label("key_seen"),
).order_by(_ch.c.position)


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
)


def sniff_image(data: bytes) -> str | None:
    """The image type by magic bytes (JPEG, PNG, GIF, WebP, HEIC), or None.

    >>> sniff_image(b"\\x89PNG\\r\\n\\x1a\\n...."), sniff_image(b"%PDF-1.7")
    ('image/png', None)
    """
    for magic, offset, media in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if media == "image/webp" and data[:4] != b"RIFF":
                continue
            return media
    return None


def _canonical(body: Mapping[str, Any], photo: str | None) -> str:
    text = json.dumps({"body": body, "photo": photo}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_text(value: Any, field: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise DataFormatError("missing", field=field, expected="text")
        return ""
    if not isinstance(value, str):
        raise DataFormatError("not text", field=field, expected="text", found=type(value).__name__)
    if len(value) > MAX_TEXT:
        raise DataFormatError("text too long", field=field, expected=f"<= {MAX_TEXT} characters")
    if required and not value.strip():
        raise DataFormatError("empty", field=field, expected="text")
    if "\x00" in value:
        raise DataFormatError("control character in text", field=field)
    return value


def _check_protocol(
    body: Mapping[str, Any], ballot: Ballot, *, photo: bool
) -> dict[str, int | None]:
    lines = body.get("lines") or {}
    if not isinstance(lines, Mapping):
        raise DataFormatError("lines must be an object", field="lines", expected="{line: count}")
    if not lines and photo:
        return {}
    if not ballot.choices:
        raise DataFormatError(
            "the election has no choices yet (admin: import the ballot)", field="lines"
        )
    unknown = sorted(set(lines) - set(ballot.keys))
    if unknown:
        raise DataFormatError(
            "unknown protocol line",
            field=f"lines.{unknown[0]}",
            expected=" | ".join(ballot.keys),
            found=unknown[0],
        )
    out: dict[str, int | None] = {}
    optional = {line.key for line in ballot.profile.lines if line.optional}
    for key in ballot.keys:
        if key not in lines and key in optional:  # an optional line of the form: no figure
            out[key] = None
            continue
        if key not in lines:
            raise DataFormatError(
                "protocol line missing",
                field=f"lines.{key}",
                expected="integer >= 0, or null when not legible",
            )
        v = lines[key]
        if v is None:  # sent explicitly: the observer could not read it
            out[key] = None
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise DataFormatError(
                "not a whole number", field=f"lines.{key}", expected="integer >= 0", found=repr(v)
            )
        if v < 0 or v > 10**9:
            raise DataFormatError(
                "out of range", field=f"lines.{key}", expected="integer >= 0", found=v
            )
        out[key] = v
    return out


def judge(
    ballot: Ballot, station: str, lines: Mapping[str, int | None]
) -> tuple[str, list[dict[str, Any]]]:
    """Check one copy by the profile's control relations: (status, violations).

    :func:`saylau.domain.checks.check_row`: the same relations and arithmetic as the table
    check :func:`~saylau.domain.checks.validate` (a test holds them together on real files),
    without the cost of a one-row table per copy.
    """
    values = {k: lines[k] for k in ballot.keys}
    result = check_row(values, profile=ballot.profile, choices=ballot.choices, station=station)
    return result.status, [dataclasses.asdict(v) for v in result.violations]


def _check_device_time(value: Any) -> None:
    """The phone's clock when a report was made (kept beside the time the server received it)."""
    try:
        dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataFormatError(
            "not a date-time", field="device_time", expected="ISO 8601", found=value
        ) from None


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10**7:
        raise DataFormatError(
            "not a count", field=field, expected="a whole number >= 0", found=value
        )
    return value


def _check_headcount(body: Mapping[str, Any]) -> None:
    """Head counts: ``readings`` = [{checkpoint, count, official?}], cumulative since opening.

    The checkpoint is a time ("10:00") or the close ("close", "жабылу", "закрытие"); ``count``
    the voters the observer saw entering since the opening; ``official`` the commission's
    announced intermediate figure as a count of voters, when there is one. A cumulative count
    that falls is stored and flagged by the analysis, not refused here.
    """
    readings = body.get("readings")
    if not isinstance(readings, list) or not readings:
        raise DataFormatError(
            "readings missing", field="readings", expected="[{checkpoint, count}, ...]"
        )
    if len(readings) > MAX_READINGS:
        raise DataFormatError("too many readings", field="readings", expected=f"<= {MAX_READINGS}")
    seen: set[int] = set()
    for i, r in enumerate(readings):
        where = f"readings[{i}]"
        if not isinstance(r, Mapping):
            raise DataFormatError("not an object", field=where, expected="{checkpoint, count}")
        cp = r.get("checkpoint")
        minute = checkpoint_minutes(cp) if isinstance(cp, str) else None
        if minute is None:
            raise DataFormatError(
                "not a checkpoint time",
                field=f"{where}.checkpoint",
                expected="HH:MM or close",
                found=cp,
            )
        if minute in seen:
            raise DataFormatError("checkpoint given twice", field=f"{where}.checkpoint", found=cp)
        seen.add(minute)
        _count(r.get("count"), f"{where}.count")
        if r.get("official") is not None:
            _count(r.get("official"), f"{where}.official")
        extra = set(r) - {"checkpoint", "count", "official"}
        if extra:
            raise DataFormatError(
                "unknown field",
                field=where,
                expected="checkpoint, count, official",
                found=", ".join(sorted(extra)),
            )
    _check_text(body.get("note"), "note")


def _check_incident(session: Session, body: Mapping[str, Any]) -> None:
    cat = body.get("category")
    if not isinstance(cat, str) or session.get(IncidentCategory, cat) is None:
        raise NotFound("unknown incident category", field="category", found=cat)
    _check_text(body.get("text"), "text", required=True)
    for f in ("phase", "police", "reporter_name"):
        _check_text(body.get(f), f)
    observed = body.get("observed_at")
    if observed is not None:
        try:
            dt.datetime.fromisoformat(str(observed))
        except ValueError:
            raise DataFormatError(
                "not a date-time", field="observed_at", expected="ISO 8601", found=observed
            ) from None
    complaint = body.get("complaint", "not_filed")
    if complaint not in COMPLAINT_STATUSES:
        raise DataFormatError(
            "unknown complaint status",
            field="complaint",
            expected=" | ".join(COMPLAINT_STATUSES),
            found=complaint,
        )
    role = body.get("reporter_role", "observer")
    if role not in REPORTER_ROLES:
        raise DataFormatError(
            "unknown reporter role",
            field="reporter_role",
            expected=" | ".join(REPORTER_ROLES),
            found=role,
        )
    media = body.get("media", [])
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise DataFormatError("media must be a list of photo hashes", field="media")
    for m in media:
        if session.get(Blob, m) is None:
            raise NotFound("media not uploaded", field="media", found=m)


def _check_interviews(body: Mapping[str, Any], ballot: Ballot, station: str) -> None:
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise DataFormatError("records must be a non-empty list", field="records")
    if len(records) > MAX_INTERVIEWS:
        raise DataFormatError(
            "too many records in one batch",
            field="records",
            expected=f"<= {MAX_INTERVIEWS}",
            found=len(records),
        )
    columns: set[str] = set()
    for i, r in enumerate(records, start=1):
        if not isinstance(r, Mapping):
            raise DataFormatError("a record must be an object", row=i, field="records")
        for k, v in r.items():
            columns.add(str(k))
            if v is not None and not isinstance(v, str | int):
                raise DataFormatError("values must be text", row=i, field=str(k))
    bad = identifying_columns(columns)
    if bad:
        raise DataFormatError(
            "field identifies a respondent: never collected",
            field=bad[0],
            expected="station, band, choice, gender, age_band",
        )
    if "choice" not in columns:
        raise DataFormatError("every record needs a choice", field="choice")
    frame = pl.DataFrame(
        [
            {**{k: None if v is None else str(v) for k, v in r.items()}, "station": station}
            for r in records
        ],
        infer_schema_length=None,
    )
    interviews_from_frame(frame, choices=list(ballot.choices) or None, source="batch")


def _assigned(user: User, station: str) -> None:
    if user.role in ("observer", "interviewer") and station not in user.stations:
        raise AccessDenied("station not assigned to you", field="station", found=station)


def _existing(session: Session, user: User, key: str, digest: str) -> Stored | None:
    # one indexed look-up by key with the copy's judgement: mine (a retry), or someone
    # else's (a replayed entry)
    same_key = session.connection().execute(_SAME_KEY, {"key": key}).all()
    old = next((s for s in same_key if s.account_id == user.id), None)
    if old is None and same_key:
        # keys are made on the phone (random UUIDs): another person's key is a replayed entry
        raise IdempotencyConflict(
            "idempotency key belongs to another person's submission: not stored",
            field="idempotency_key",
            found=key,
            expected="a key made on your own device",
        )
    if old is None:
        return None
    if old.body_hash != digest:
        raise IdempotencyConflict(
            "idempotency key already used with a different body",
            field="idempotency_key",
            found=key,
            expected="a new key for a new submission",
        )
    return Stored(
        old.id,
        old.kind,
        old.station,
        False,
        old.status,
        old.replaces,
        old.received_at.isoformat(),
        old.photo,
        tuple(old.violations) if old.violations is not None else (),
    )


_SAME_KEY = (
    select(
        _sub_t.c.id,
        _sub_t.c.kind,
        _sub_t.c.station,
        _sub_t.c.account_id,
        _sub_t.c.body_hash,
        _sub_t.c.replaces,
        _sub_t.c.received_at,
        _sub_t.c.photo,
        _check_t.c.status,
        _check_t.c.violations,
    )
    .select_from(_sub_t.outerjoin(_check_t, _check_t.c.submission_id == _sub_t.c.id))
    .where(_sub_t.c.idem_key == bindparam("key"))
)


def put_blob(session: Session, data: bytes, *, max_bytes: int) -> str:
    """Store an image content-addressed; return its SHA-256 (idempotent)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            "upload too large",
            field="photo",
            expected=f"<= {max_bytes} bytes",
            found=f"{len(data)} bytes",
        )
    media = sniff_image(data)
    if media is None:
        raise DataFormatError(
            "not an image (JPEG, PNG, GIF, WebP or HEIC)", field="photo", found=data[:8].hex()
        )
    sha = hashlib.sha256(data).hexdigest()
    if session.get(Blob, sha) is None:
        session.add(
            Blob(sha256=sha, media_type=media, size=len(data), content=data, created_at=_now())
        )
        session.flush()
    return sha


def submit(
    db: Database,
    user: User | Callable[[Connection], User],
    *,
    kind: str,
    station: str,
    idem_key: str,
    body: Mapping[str, Any],
    photo: bytes | None = None,
    replaces: int | None = None,
    max_photo_bytes: int = 10 * 2**20,
) -> Stored:
    """Store one submission (or return the one stored under the same key); see module docs.

    ``user`` is the submitter, or a function finding them on the write's own connection
    (the web API's session lookup and rights check, :func:`saylau.web.auth.authorize`): then
    the request costs one connection checkout and one transaction, lookup included; what it
    raises (not signed in, not allowed) rolls the transaction back with nothing written.
    """
    if kind not in KINDS:
        raise DataFormatError("unknown kind", field="kind", expected=" | ".join(KINDS), found=kind)
    if not idem_key or len(idem_key) > 100:
        raise DataFormatError(
            "idempotency key missing or too long",
            field="idempotency_key",
            expected="1..100 characters",
        )
    photo_sha = hashlib.sha256(photo).hexdigest() if photo is not None else None
    digest = _canonical({"station": station, "kind": kind, "replaces": replaces, **body}, photo_sha)
    for attempt in range(2):
        try:
            with db.write() as session:
                conn = session.connection()
                who = user(conn) if callable(user) else user
                pre = conn.execute(_PRECHECK, {"station": station, "key": idem_key}).all()
                ballot: Ballot | None = None
                known: bool | None = None
                if pre and not pre[0].key_seen:  # a new key (the common case)
                    ballot, known = _ballot(pre[0].profile, pre), bool(pre[0].station_known)
                else:
                    old = _existing(session, who, idem_key, digest)
                    if old is not None:
                        return old
                return _insert(
                    session,
                    who,
                    kind,
                    station,
                    idem_key,
                    digest,
                    body,
                    photo,
                    replaces,
                    max_photo_bytes,
                    ballot=ballot,
                    station_known=known,
                )
        except IntegrityError:
            # a concurrent retry with the same key won the race: answer with what it stored
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _insert(
    session: Session,
    user: User,
    kind: str,
    station: str,
    idem_key: str,
    digest: str,
    body: Mapping[str, Any],
    photo: bytes | None,
    replaces: int | None,
    max_photo_bytes: int,
    *,
    ballot: Ballot | None = None,
    station_known: bool | None = None,
) -> Stored:
    if station_known is None:
        station_known = session.get(Station, station) is not None
    if not station_known:
        raise NotFound("unknown station", field="station", found=station)
    allowed = {
        "protocol": ("observer",),
        "incident": ("observer",),
        "interviews": ("interviewer",),
        "transcription": ("transcriber",),
        "headcount": ("observer",),
    }[kind]
    if user.role not in allowed:
        raise AccessDenied(f"role {user.role} cannot submit {kind}", field="kind", found=kind)
    if kind != "transcription":
        _assigned(user, station)
    if "device_time" in body:
        _check_device_time(body["device_time"])
    if ballot is None:
        ballot = load_ballot(session)
    lines: dict[str, int | None] = {}
    if kind == "transcription":
        of = body.get("of")
        if not isinstance(of, int) or of not in handed_to(session, user.id):
            raise AccessDenied("photo not handed to you", field="of", found=of)
        photo_sub = session.get(Submission, of)
        if photo_sub is None or photo_sub.station != station:
            raise NotFound("photo copy not found for this station", field="of", found=of)
        lines = _check_protocol(body, ballot, photo=False)
    elif kind == "protocol":
        lines = _check_protocol(body, ballot, photo=photo is not None)
        _check_text(body.get("note"), "note")
    elif kind == "incident":
        _check_incident(session, body)
    elif kind == "interviews":
        _check_interviews(body, ballot, station)
    elif kind == "headcount":
        _check_headcount(body)
    if replaces is not None:
        prev = session.get(Submission, replaces)
        if (
            prev is None
            or prev.account_id != user.id
            or prev.kind != kind
            or prev.station != station
        ):
            raise NotFound(
                "the submission to replace is not one of yours for this station",
                field="replaces",
                found=replaces,
            )
        later = session.scalar(
            select(Submission.id).where(Submission.replaces == replaces).limit(1)
        )
        if later is not None:  # a stale device: correct the newest version, never fork
            raise IdempotencyConflict(
                f"submission {replaces} was already replaced by {later}",
                field="replaces",
                found=replaces,
                expected=f"the newest version ({later} or later)",
            )
    photo_sha = put_blob(session, photo, max_bytes=max_photo_bytes) if photo is not None else None
    received = _now()
    # Core statements built once (no unit of work): stored raw first, the judgement after it
    sub_id: int = session.execute(
        _INSERT_SUB,
        {
            "kind": kind,
            "account_id": user.id,
            "idem_key": idem_key,
            "body_hash": digest,
            "station": station,
            "body": dict(body),
            "photo": photo_sha,
            "replaces": replaces,
            "received_at": received,
        },
    ).scalar_one()
    status: str | None = None
    violations: list[dict[str, Any]] = []
    if kind == "protocol":
        if lines:
            status, violations = judge(ballot, station, lines)
        else:
            status = "photo_only"
            hand_out(session, sub_id, 2)
        session.execute(
            _INSERT_CHECK, {"submission_id": sub_id, "status": status, "violations": violations}
        )
    elif kind == "transcription":
        after_transcription(session, int(body["of"]))
    stored = Stored(
        sub_id,
        kind,
        station,
        True,
        status,
        replaces,
        received.isoformat(),
        photo_sha,
        tuple(violations),
    )
    # last: the audit append holds the chain's lock until the commit
    append_audit(
        session,
        actor=user.username,
        action=f"submit.{kind}",
        target=f"{kind}:{sub_id}",
        detail={"station": station, "replaces": replaces, "status": status, "body_sha256": digest},
    )
    return stored


def current_versions(
    session: Session, kind: str, stations: Sequence[str] | None = None
) -> list[Submission]:
    """Submissions of a kind that no later submission replaces (corrections applied)."""
    q = select(Submission).where(Submission.kind == kind)
    if stations is not None:
        q = q.where(Submission.station.in_(list(stations)))
    subs = list(session.scalars(q.order_by(Submission.id)))
    replaced = {s.replaces for s in subs if s.replaces is not None}
    return [s for s in subs if s.id not in replaced]


def handed_to(session: Session, account_id: int) -> list[int]:
    """Photo-only copies handed to a transcriber."""
    return list(
        session.scalars(select(Handout.submission_id).where(Handout.account_id == account_id))
    )


def hand_out(session: Session, photo_id: int, n: int) -> list[int]:
    """Hand a photo-only copy to ``n`` more transcribers (the least loaded first).

    The transcriber sees the photo and the station, never who sent it.
    """
    from .models import Account

    already = set(
        session.scalars(select(Handout.account_id).where(Handout.submission_id == photo_id))
    )
    load = dict(
        session.execute(select(Handout.account_id, func.count()).group_by(Handout.account_id)).all()
    )
    people = [
        a.id
        for a in session.scalars(
            select(Account).where(Account.role == "transcriber", Account.active)
        )
        if a.id not in already
    ]
    chosen = sorted(people, key=lambda i: (load.get(i, 0), i))[:n]
    for acc in chosen:
        session.add(Handout(submission_id=photo_id, account_id=acc, at=_now()))
    session.flush()
    return chosen


def transcribed_lines(session: Session, photo_id: int) -> dict[str, int] | None:
    """The figures two independent transcriptions agree on (None while they do not)."""
    seen: dict[str, int] = {}
    figures: dict[str, dict[str, int]] = {}
    for t in current_versions(session, "transcription"):
        if t.body.get("of") != photo_id:
            continue
        key = json.dumps(t.body.get("lines"), sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        figures[key] = dict(t.body.get("lines") or {})
        if seen[key] >= 2:
            return figures[key]
    return None


def after_transcription(session: Session, photo_id: int) -> None:
    """Double entry: two agreeing transcriptions make a copy; disagreeing ones go to a third."""
    if transcribed_lines(session, photo_id) is not None:
        return
    handed = len(
        session.scalars(select(Handout.account_id).where(Handout.submission_id == photo_id)).all()
    )
    done = {
        t.account_id
        for t in current_versions(session, "transcription")
        if t.body.get("of") == photo_id
    }
    if len(done) >= handed:
        hand_out(session, photo_id, 1)
