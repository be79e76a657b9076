"""The JSON API (``/api/v1``): one route per action of the pages, each declaring its roles.

Handlers parse, check the caller's scope and call :mod:`saylau.store`; no statistics here.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from .._exceptions import DataFormatError
from ..results import to_jsonable
from ..store import accounts, live, masterdata, reconcile
from ..store.accounts import AccessDenied, User, authenticate, new_session
from ..store.audit import append_audit, seal_pending, verify_chain
from ..store.db import Database
from ..store.models import (
    Blob,
    Handout,
    IncidentCategory,
    OfficialSnapshot,
    Station,
    Submission,
)
from ..store.submissions import (
    NotFound,
    PayloadTooLarge,
    Stored,
    current_versions,
    load_ballot,
    submit,
)
from .auth import (
    PUBLIC,
    allow,
    authorize,
    current_user,
    end_cookie_session,
    get_db,
    get_settings,
    scope_stations,
    start_cookie_session,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
STAFF = ("admin", "coordinator", "analyst")
FIELD = ("observer", "interviewer", "transcriber")
ANY = ("admin", "coordinator", "observer", "interviewer", "transcriber", "analyst")
DB = Annotated[Database, Depends(get_db)]
ME = Annotated[User, Depends(current_user)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Model):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class ProtocolIn(_Model):
    station: str = Field(min_length=1, max_length=64)
    idempotency_key: str = Field(min_length=1, max_length=100)
    lines: dict[str, int | None] = Field(
        description="every line of the profile and every choice; null: not legible"
    )
    note: str | None = Field(default=None, max_length=10_000)
    device_time: str | None = Field(
        default=None, max_length=40, description="the phone's clock when it was made (ISO 8601)"
    )
    replaces: int | None = None


class IncidentIn(_Model):
    station: str = Field(min_length=1, max_length=64)
    idempotency_key: str = Field(min_length=1, max_length=100)
    category: str = Field(min_length=1, max_length=64)
    phase: str | None = Field(default=None, max_length=64)
    text: str = Field(min_length=1, max_length=10_000)
    observed_at: str | None = Field(default=None, max_length=40)
    reporter_role: str = "observer"
    complaint: str = "not_filed"
    police: str | None = Field(default=None, max_length=10_000)
    media: list[str] = Field(default_factory=list, max_length=20)
    device_time: str | None = Field(
        default=None, max_length=40, description="the phone's clock when it was made (ISO 8601)"
    )
    replaces: int | None = None


class Reading(_Model):
    checkpoint: str = Field(
        min_length=1, max_length=20, description='"HH:MM" or the close ("close", "жабылу")'
    )
    count: int = Field(ge=0, le=10**7, description="voters seen entering since the opening")
    official: int | None = Field(
        default=None, ge=0, le=10**7, description="the commission's announced figure, in voters"
    )


class HeadCountIn(_Model):
    station: str = Field(min_length=1, max_length=64)
    idempotency_key: str = Field(min_length=1, max_length=100)
    readings: list[Reading] = Field(min_length=1, max_length=48)
    note: str | None = Field(default=None, max_length=10_000)
    device_time: str | None = Field(
        default=None, max_length=40, description="the phone's clock when it was made (ISO 8601)"
    )
    replaces: int | None = None


class InterviewsIn(_Model):
    station: str = Field(min_length=1, max_length=64)
    idempotency_key: str = Field(min_length=1, max_length=100)
    records: list[dict[str, str | int | None]] = Field(min_length=1, max_length=5000)
    device_time: str | None = Field(
        default=None, max_length=40, description="the phone's clock when it was made (ISO 8601)"
    )
    replaces: int | None = None


class TranscriptionIn(_Model):
    of: int = Field(description="the photo-only copy handed to you")
    idempotency_key: str = Field(min_length=1, max_length=100)
    lines: dict[str, int]


class ResolutionIn(_Model):
    chosen: int | None = Field(description="the copy whose figures stand; null: unresolved")
    reason: str = Field(min_length=1, max_length=10_000)


class VerificationIn(_Model):
    status: str = Field(pattern="^(unverified|confirmed|rejected)$")
    reason: str = Field(min_length=1, max_length=10_000)


class CategoryIn(_Model):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")
    phase: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=300)
    examples: str = Field(default="", max_length=2000)


class PersonIn(_Model):
    username: str = Field(min_length=1, max_length=100)
    role: str = Field(pattern="^(admin|coordinator|observer|interviewer|transcriber|analyst)$")
    full_name: str = Field(default="", max_length=300)
    commission: str | None = Field(default=None, max_length=64)
    stations: list[str] = Field(default_factory=list, max_length=1000)
    locale: str = Field(default="kk", pattern="^(kk|ru|en)$")


class PersonChange(_Model):
    role: str | None = Field(
        default=None, pattern="^(admin|coordinator|observer|interviewer|transcriber|analyst)$"
    )
    commission: str | None = Field(default=None, max_length=64)
    stations: list[str] | None = Field(default=None, max_length=1000)
    active: bool | None = None
    reset_password: bool = False


class ProfileIn(_Model):
    name: str = Field(min_length=1, max_length=64)


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _device_time(value: str | None) -> dict[str, str]:
    """The phone's clock, kept in the body when the client sent it (the field app does)."""
    return {} if value is None else {"device_time": value}


def _out(stored: Stored, response: Response) -> dict[str, Any]:
    response.status_code = 201 if stored.created else 200
    return to_jsonable(stored)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ sessions
@router.get("/health", **allow(PUBLIC))
def health(db: DB) -> dict[str, Any]:
    """Liveness and the database engine in use."""
    return {"status": "ok", "database": db.engine.dialect.name}


@router.post("/auth/token", **allow(PUBLIC))
def login_token(body: Credentials, request: Request, db: DB) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (throttled per account and address)."""
    with db.write() as session:
        outcome = authenticate(
            session, username=body.username, password=body.password, address=_address(request)
        )
        if isinstance(outcome, User):
            token, _csrf = new_session(session, outcome, kind="bearer")
    if not isinstance(outcome, User):
        raise outcome
    return {
        "token": token,
        "token_type": "bearer",
        "role": outcome.role,
        "username": outcome.username,
    }


@router.post("/auth/session", **allow(PUBLIC))
def login_session(
    body: Credentials, request: Request, response: Response, db: DB
) -> dict[str, Any]:
    """Open a cookie session (pages); answer the CSRF token every write must send back."""
    with db.write() as session:
        outcome = authenticate(
            session, username=body.username, password=body.password, address=_address(request)
        )
    if not isinstance(outcome, User):
        raise outcome
    csrf = start_cookie_session(request, response, outcome)
    return {"csrf_token": csrf, "role": outcome.role, "username": outcome.username}


@router.post("/auth/logout", **allow(*ANY))
def logout(request: Request, response: Response) -> dict[str, str]:
    """End the session or revoke the bearer token used."""
    end_cookie_session(request, response)
    return {"status": "signed out"}


@router.get("/me", **allow(*ANY))
def me(user: ME) -> dict[str, Any]:
    """Who am I: role, locale, assigned stations."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "commission": user.commission,
        "locale": user.locale,
        "stations": sorted(user.stations),
    }


@router.get("/me/assignment", **allow("observer", "interviewer"))
def my_assignment(request: Request, db: DB, user: ME) -> dict[str, Any]:
    """What the field app keeps on the phone: stations, the profile's lines and control
    relations, the ballot, incident categories, the interview form (labels in my language),
    and the CSRF token of my cookie session (null with a bearer token)."""
    from .fieldapp import assignment_document

    with db.read() as session:
        doc = assignment_document(session, user)
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    return {**doc, "csrf_token": None if bearer else getattr(request.state, "csrf", None)}


@router.get("/me/submissions", **allow("observer", "interviewer"))
def my_submissions(db: DB, user: ME) -> list[dict[str, Any]]:
    """Everything I sent, every version, with its idempotency key (a new phone pulls it first)."""
    from .fieldapp import submissions_document

    with db.read() as session:
        return submissions_document(session, user)


# ------------------------------------------------------------------ election
@router.get("/election", **allow(*ANY))
def election(db: DB) -> dict[str, Any]:
    """The protocol profile (lines, control relations) and the ballot."""
    with db.read() as session:
        ballot = load_ballot(session)
    p = ballot.profile
    return {
        "profile": p.name,
        "lines": [{"key": ln.key, "number": ln.number, "label": ln.label} for ln in p.lines],
        "relations": [
            {
                "name": r.name,
                "strict": r.strict,
                "description": r.describe(p.numbers),
                "left": list(r.left),
                "right": list(r.right),
                "op": r.op,
            }
            for r in p.relations
        ],
        "choices": list(ballot.choices),
        "against_all": list(ballot.against_all),
    }


@router.get("/stations", **allow(*ANY))
def stations(db: DB, user: ME) -> list[dict[str, Any]]:
    """Stations the caller may see (assigned, subtree or all)."""
    with db.read() as session:
        scope = scope_stations(session, user)
        q = select(Station).order_by(Station.code)
        if scope is not None:
            q = q.where(Station.code.in_(sorted(scope)))
        return [
            {
                "code": s.code,
                "name": s.name,
                "commission": s.commission,
                "region": s.region,
                "registered": s.registered,
            }
            for s in session.scalars(q)
        ]


@router.get("/incident-categories", **allow(*ANY))
def categories(db: DB) -> list[dict[str, str]]:
    """The incident taxonomy (shipped, plus what the admin added)."""
    with db.read() as session:
        return [
            {"code": c.code, "phase": c.phase, "category": c.label, "examples": c.examples}
            for c in session.scalars(select(IncidentCategory).order_by(IncidentCategory.code))
        ]


# ------------------------------------------------------------------ submissions
_PROTOCOL_ROLES = ("observer",)


@router.post(
    "/protocols",
    status_code=201,
    response_model=None,
    openapi_extra={
        "x-roles": list(_PROTOCOL_ROLES),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ProtocolIn.model_json_schema()}},
        },
    },
)
async def post_protocol(request: Request) -> Response:
    """A protocol copy typed in (201 stored, 200 the same retry, 409 the key with another body)."""
    # The election-night path, kept lean (benchmarks/bench_service.py): the body is parsed and
    # checked by ProtocolIn in pydantic's JSON parser, and the session lookup, the rights check
    # (auth.authorize: the same answers as allow()) and the write run in one thread-pool call
    # on one connection, in one transaction.
    raw = await request.body()
    try:
        body: ProtocolIn | None = ProtocolIn.model_validate_json(raw)
        invalid: ValidationError | None = None
    except ValidationError as exc:
        body, invalid = None, exc
    db, settings = get_db(request), get_settings(request)
    if body is None:
        # the caller is checked first (401/403 before 422), as FastAPI's dependencies do
        def refuse() -> None:
            with db.read_conn() as conn:
                authorize(request, conn, _PROTOCOL_ROLES)
            raise RequestValidationError(_body_errors(invalid))

        await anyio.to_thread.run_sync(refuse, limiter=_write_slots(request))
        raise AssertionError("unreachable")  # pragma: no cover
    stored = await anyio.to_thread.run_sync(
        functools.partial(
            submit,
            db,
            lambda conn: authorize(request, conn, _PROTOCOL_ROLES),
            kind="protocol",
            station=body.station,
            idem_key=body.idempotency_key,
            body={"lines": body.lines, "note": body.note, **_device_time(body.device_time)},
            replaces=body.replaces,
            max_photo_bytes=settings.max_photo_bytes,
        ),
        limiter=_write_slots(request),
    )
    return JSONResponse(to_jsonable(stored), status_code=201 if stored.created else 200)


def _write_slots(request: Request) -> anyio.CapacityLimiter:
    """The threads this worker lets write copies at once: as many as its pooled connections.

    More threads than connections only wait in the pool, and each connection past the pool's
    size is opened for one request and closed after it (a new PostgreSQL backend each time);
    a request waiting for a slot waits on the event loop, at no cost.
    """
    state = request.app.state
    slots: anyio.CapacityLimiter | None = getattr(state, "write_slots", None)
    if slots is None:
        slots = state.write_slots = anyio.CapacityLimiter(get_settings(request).pool_size)
    return slots


def _body_errors(exc: ValidationError | None) -> list[Any]:
    """pydantic's errors located in the body, as FastAPI reports a model's."""
    if exc is None:  # pragma: no cover
        return []
    return [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]


@router.post("/protocols/photo", status_code=201, **allow("observer"))
async def post_protocol_photo(
    request: Request,
    response: Response,
    db: DB,
    user: ME,
    station: Annotated[str, Form(min_length=1, max_length=64)],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=100)],
    photo: Annotated[UploadFile, File(description="JPEG, PNG, GIF, WebP or HEIC")],
    lines: Annotated[str | None, Form(description="JSON object of lines (optional)")] = None,
    note: Annotated[str | None, Form(max_length=10_000)] = None,
    replaces: Annotated[int | None, Form()] = None,
    device_time: Annotated[str | None, Form(max_length=40)] = None,
) -> dict[str, Any]:
    """A protocol copy with its photo (lines optional: a photo alone goes to transcribers)."""
    limit = get_settings(request).max_photo_bytes
    data = await photo.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge("upload too large", field="photo", expected=f"<= {limit} bytes")
    parsed: dict[str, Any] = {}
    if lines:
        try:
            parsed = json.loads(lines)
        except json.JSONDecodeError:
            raise DataFormatError(
                "lines is not JSON", field="lines", expected="{line: count}"
            ) from None
    stored = await run_in_threadpool(
        submit,
        db,
        user,
        kind="protocol",
        station=station,
        idem_key=idempotency_key,
        body={"lines": parsed, "note": note, **_device_time(device_time)},
        photo=data,
        replaces=replaces,
        max_photo_bytes=limit,
    )
    return _out(stored, response)


@router.post("/media", status_code=201, **allow("observer"))
async def post_media(
    request: Request, db: DB, photo: Annotated[UploadFile, File()]
) -> dict[str, str]:
    """Upload a photo for an incident report; answer its SHA-256 to list in ``media``."""
    from ..store.submissions import put_blob

    limit = get_settings(request).max_photo_bytes
    data = await photo.read(limit + 1)

    def store() -> str:
        with db.write() as session:
            return put_blob(session, data, max_bytes=limit)

    sha = await run_in_threadpool(store)
    return {"sha256": sha}


@router.get("/protocols", **allow(*ANY))
def list_protocols(db: DB, user: ME, station: str | None = None) -> list[dict[str, Any]]:
    """Protocol copies: an observer's own, a coordinator's subtree, everything for staff."""
    from ..store.models import ProtocolCheck

    with db.read() as session:
        scope = scope_stations(session, user)
        q = (
            select(Submission, ProtocolCheck.status)
            .join(ProtocolCheck, ProtocolCheck.submission_id == Submission.id, isouter=True)
            .where(Submission.kind == "protocol")
        )
        if user.role in ("observer", "interviewer", "transcriber"):
            q = q.where(Submission.account_id == user.id)
        elif scope is not None:
            q = q.where(Submission.station.in_(sorted(scope)))
        if station is not None:
            q = q.where(Submission.station == station)
        return [
            {
                "id": s.id,
                "station": s.station,
                "lines": s.body.get("lines"),
                "status": st,
                "photo": s.photo,
                "replaces": s.replaces,
                "received_at": s.received_at.isoformat(),
            }
            for s, st in session.execute(q.order_by(Submission.id)).all()
        ]


@router.post("/incidents", status_code=201, **allow("observer"))
def post_incident(body: IncidentIn, response: Response, db: DB, user: ME) -> dict[str, Any]:
    """An incident report (taxonomy category, times, text, media, complaint status)."""
    data = body.model_dump(exclude={"station", "idempotency_key", "replaces", "device_time"})
    data.update(_device_time(body.device_time))
    stored = submit(
        db,
        user,
        kind="incident",
        station=body.station,
        idem_key=body.idempotency_key,
        body=data,
        replaces=body.replaces,
    )
    return _out(stored, response)


@router.post("/headcounts", status_code=201, **allow("observer"))
def post_headcount(body: HeadCountIn, response: Response, db: DB, user: ME) -> dict[str, Any]:
    """Voters seen entering the station by each checkpoint (cumulative), with the commission's
    announced figure where there is one; a correction names the version it ``replaces``."""
    stored = submit(
        db,
        user,
        kind="headcount",
        station=body.station,
        idem_key=body.idempotency_key,
        body={
            "readings": [r.model_dump() for r in body.readings],
            "note": body.note,
            **_device_time(body.device_time),
        },
        replaces=body.replaces,
    )
    return _out(stored, response)


@router.get("/headcounts", **allow(*ANY))
def list_headcounts(db: DB, user: ME) -> list[dict[str, Any]]:
    """Current head counts: observers see their own, staff those of their scope."""
    with db.read() as session:
        scope = scope_stations(session, user)
        return [
            {
                "id": s.id,
                "station": s.station,
                "readings": s.body.get("readings", []),
                "note": s.body.get("note"),
                "replaces": s.replaces,
                "received_at": s.received_at.isoformat(),
            }
            for s in current_versions(session, "headcount")
            if (user.role not in FIELD or s.account_id == user.id)
            and (scope is None or s.station in scope)
        ]


@router.get("/turnout/excess", **allow(*STAFF))
def turnout_excess(db: DB) -> dict[str, Any]:
    """Ballots issued in the station beyond the observers' head counts (see
    :mod:`saylau.turnout.headcount`): per station, region and nationally, with the counting
    error estimated from double counts and Holm's correction over the stations."""
    result: dict[str, Any] = live.live_estimates(db)["head_counts"]
    return result


@router.get("/incidents", **allow(*ANY))
def list_incidents(
    db: DB,
    user: ME,
    category: str | None = None,
    phase: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Incident feed with the latest verification; filters by category, phase, status."""
    with db.read() as session:
        scope = scope_stations(session, user)
        subs = current_versions(session, "incident")
        verdicts = reconcile.verifications(session)
        out = []
        for s in subs:
            if user.role in ("observer", "interviewer", "transcriber") and s.account_id != user.id:
                continue
            if scope is not None and s.station not in scope:
                continue
            ver = verdicts.get(s.id, ("unverified", ""))
            if category and s.body.get("category") != category:
                continue
            if phase and s.body.get("phase") != phase:
                continue
            if status and ver[0] != status:
                continue
            out.append(
                {
                    "id": s.id,
                    "station": s.station,
                    **s.body,
                    "verification": ver[0],
                    "verification_reason": ver[1],
                    "received_at": s.received_at.isoformat(),
                }
            )
        return out


@router.post("/incidents/{incident_id}/verification", **allow("coordinator", "admin"))
def verify_incident(incident_id: int, body: VerificationIn, db: DB, user: ME) -> dict[str, Any]:
    """A coordinator's verification: unverified / confirmed / rejected, with a reason."""
    with db.write() as session:
        reconcile.verify_incident(
            session,
            user,
            incident_id,
            status=body.status,
            reason=body.reason,
            scope=scope_stations(session, user),
        )
    return {"id": incident_id, "verification": body.status}


@router.post("/interviews", status_code=201, **allow("interviewer"))
def post_interviews(body: InterviewsIn, response: Response, db: DB, user: ME) -> dict[str, Any]:
    """An exit-poll interview batch (no field identifying a respondent is accepted)."""
    stored = submit(
        db,
        user,
        kind="interviews",
        station=body.station,
        idem_key=body.idempotency_key,
        body={"records": body.records, **_device_time(body.device_time)},
        replaces=body.replaces,
    )
    return _out(stored, response)


# ------------------------------------------------------------------ transcription
@router.get("/transcriptions/tasks", **allow("transcriber"))
def transcription_tasks(db: DB, user: ME) -> list[dict[str, Any]]:
    """Photos handed to me: the copy id, the station and the photo hash, never the sender."""
    with db.read() as session:
        ids = session.scalars(select(Handout.submission_id).where(Handout.account_id == user.id))
        return [
            {"of": s.id, "station": s.station, "photo": s.photo}
            for s in (session.get(Submission, i) for i in ids)
            if s is not None
        ]


@router.post("/transcriptions", status_code=201, **allow("transcriber"))
def post_transcription(
    body: TranscriptionIn, response: Response, db: DB, user: ME
) -> dict[str, Any]:
    """My typing of a photo handed to me; two agreeing ones make the copy."""
    with db.read() as session:
        photo_sub = session.get(Submission, body.of)
        station = photo_sub.station if photo_sub is not None else ""
    if not station:
        raise AccessDenied("photo not handed to you", field="of", found=body.of)
    stored = submit(
        db,
        user,
        kind="transcription",
        station=station,
        idem_key=body.idempotency_key,
        body={"of": body.of, "lines": body.lines},
    )
    return _out(stored, response)


@router.get("/photos/{sha256}", **allow(*ANY))
def photo(sha256: str, db: DB, user: ME) -> Response:
    """A stored photo, to those who may see it."""
    with db.read() as session:
        blob = session.get(Blob, sha256)
        if blob is None:
            raise NotFound("unknown photo", field="sha256", found=sha256)
        subs = session.scalars(select(Submission).where(Submission.photo == sha256)).all()
        scope = scope_stations(session, user)
        if user.role == "transcriber":
            handed = set(
                session.scalars(select(Handout.submission_id).where(Handout.account_id == user.id))
            )
            ok = any(s.id in handed for s in subs)
        elif user.role in ("observer", "interviewer"):
            ok = any(s.account_id == user.id for s in subs)
        else:
            ok = scope is None or any(s.station in scope for s in subs)
        if not ok:
            raise AccessDenied("photo not visible to you", field="sha256")
        return Response(blob.content, media_type=blob.media_type)


# ------------------------------------------------------------------ reconciliation
@router.get("/consensus", **allow(*STAFF))
def get_consensus(db: DB, user: ME, state: str | None = None) -> list[dict[str, Any]]:
    """Per station: agreed / resolved / conflict / unresolved, with the versions."""
    with db.read() as session:
        out = reconcile.station_consensus(session, scope_stations(session, user))
    return [to_jsonable(c) for c in out if state is None or c.state == state]


@router.post("/stations/{station}/resolution", **allow("coordinator", "admin"))
def post_resolution(station: str, body: ResolutionIn, db: DB, user: ME) -> dict[str, Any]:
    """Which version stands for a station (or null: unresolved), with the reason recorded."""
    with db.write() as session:
        reconcile.resolve(
            session,
            user,
            station=station,
            chosen=body.chosen,
            reason=body.reason,
            scope=scope_stations(session, user),
        )
    return {"station": station, "chosen": body.chosen}


@router.get("/official/comparison", **allow(*STAFF))
def official_comparison(db: DB, user: ME) -> dict[str, Any]:
    """Consensus copies against the latest official snapshot, line by line and summed."""
    with db.read() as session:
        result = reconcile.compare_with_official(session, scope_stations(session, user))
    if result is None:
        raise NotFound("no official results imported yet", field="official")
    return to_jsonable(result)  # type: ignore[no-any-return]


@router.get("/official/snapshots", **allow(*STAFF))
def official_snapshots(db: DB) -> list[dict[str, Any]]:
    """Every official import, dated."""
    with db.read() as session:
        return [
            {
                "id": s.id,
                "source": s.source,
                "sha256": s.sha256,
                "stations": s.stations,
                "imported_at": s.imported_at.isoformat(),
            }
            for s in session.scalars(select(OfficialSnapshot).order_by(OfficialSnapshot.id))
        ]


async def _imported(upload: UploadFile, limit: int, work: Callable[[Path], Any]) -> Any:
    """Spool an uploaded file (readers detect the format by its name), run ``work`` on it in a
    worker thread, and delete the copy (people files hold names)."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge("upload too large", field="file", expected=f"<= {limit} bytes")
    name = Path(upload.filename or "upload.csv").name or "upload.csv"
    folder = Path(tempfile.mkdtemp(prefix="saylau-upload-"))
    try:
        path = folder / name
        path.write_bytes(data)
        return await run_in_threadpool(work, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@router.post("/official", status_code=201, **allow("admin"))
async def post_official(
    request: Request, db: DB, user: ME, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """Import official results (any file the io readers read) as a new snapshot."""

    def work(path: Path) -> Any:
        with db.write() as session:
            return to_jsonable(reconcile.import_official(session, path, actor=user.username))

    return await _imported(file, get_settings(request).max_body_bytes, work)  # type: ignore[no-any-return]


@router.get("/live", **allow(*STAFF))
def live_count(db: DB) -> dict[str, Any]:
    """The live quick count and exit poll (cached; recomputed when reports arrived)."""
    return live.live_estimates(db)


# ------------------------------------------------------------------ admin
@router.post("/admin/import/{kind}", **allow("admin"))
async def admin_import(
    kind: str, request: Request, db: DB, user: ME, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """Load or update master data from a file; answers what was added and changed."""
    if kind not in masterdata.IMPORTS:
        raise NotFound(
            "unknown import", field="kind", expected=" | ".join(masterdata.IMPORTS), found=kind
        )

    def work(path: Path) -> Any:
        with db.write() as session:
            return to_jsonable(masterdata.import_file(session, kind, path, actor=user.username))

    return await _imported(file, get_settings(request).max_body_bytes, work)  # type: ignore[no-any-return]


@router.get("/admin/people", **allow("admin"))
def admin_people(db: DB) -> list[dict[str, Any]]:
    """Every person with role, subtree and stations (no secrets)."""
    with db.read() as session:
        return accounts.list_accounts(session)


def _check_scope_refs(session: Any, commission: str | None, stations: list[str] | None) -> None:
    from ..store.models import Commission

    if commission and session.get(Commission, commission) is None:
        raise NotFound("unknown commission", field="commission", found=commission)
    for st in stations or []:
        if session.get(Station, st) is None:
            raise NotFound("unknown station", field="stations", found=st)


@router.post("/admin/people", status_code=201, **allow("admin"))
def admin_add_person(body: PersonIn, db: DB, user: ME) -> dict[str, Any]:
    """Add a person; the answer carries their one-time password (shown once, never stored)."""
    password = accounts.generate_password()
    with db.write() as session:
        _check_scope_refs(session, body.commission, body.stations)
        accounts.create_account(
            session,
            username=body.username,
            password=password,
            role=body.role,
            actor=user.username,
            full_name=body.full_name,
            commission=body.commission,
            locale=body.locale,
            stations=tuple(body.stations),
        )
    return {"username": body.username, "role": body.role, "one_time_password": password}


@router.post("/admin/people/{username}", **allow("admin"))
def admin_change_person(username: str, body: PersonChange, db: DB, user: ME) -> dict[str, Any]:
    """Change a role, subtree, stations or status, or reset the password (audited)."""
    with db.write() as session:
        _check_scope_refs(session, body.commission, body.stations)
        diff, password = accounts.change_account(
            session,
            username,
            actor=user.username,
            role=body.role,
            commission=body.commission,
            stations=None if body.stations is None else tuple(body.stations),
            active=body.active,
            reset_password=body.reset_password,
        )
    out: dict[str, Any] = {"username": username, "changed": sorted(diff)}
    if password is not None:
        out["one_time_password"] = password
    return out


@router.get("/export/comparison.csv", **allow(*STAFF))
def export_comparison(db: DB, user: ME) -> Response:
    """The official-vs-copy differences as CSV (audited: an export)."""
    with db.write() as session:
        result = reconcile.compare_with_official(session, scope_stations(session, user))
        if result is None:
            raise NotFound("no official results imported yet", field="official")
        append_audit(
            session,
            actor=user.username,
            action="export.comparison",
            target="csv",
            detail={"rows": result.differences.height},
        )
    return Response(
        result.differences.write_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=comparison.csv"},
    )


@router.post("/admin/profile", **allow("admin"))
def admin_profile(body: ProfileIn, db: DB, user: ME) -> dict[str, str]:
    """Choose the protocol profile."""
    with db.write() as session:
        masterdata.set_profile(session, body.name, actor=user.username)
    return {"profile": body.name}


@router.post("/admin/incident-categories", status_code=201, **allow("admin"))
def admin_category(body: CategoryIn, db: DB, user: ME) -> dict[str, str]:
    """Add or change one incident category (no code change needed)."""
    with db.write() as session:
        masterdata.import_incident_categories(
            session, actor=user.username, rows=[body.model_dump()]
        )
    return {"code": body.code}


@router.get("/audit/verify", **allow("admin", "analyst"))
def audit_verify(db: DB) -> dict[str, Any]:
    """Seal what is pending, then recompute the audit chain."""
    seal_pending(db.engine)
    with db.read() as session:
        return to_jsonable(verify_chain(session))  # type: ignore[no-any-return]


@router.get("/dashboard", **allow(*STAFF))
def dashboard(db: DB, user: ME) -> dict[str, Any]:
    """Stations reported of those expected by region, copies by status, conflicts, differences."""
    with db.read() as session:
        scope = scope_stations(session, user)
        q = select(Station.code, Station.region)
        rows = [(c, r) for c, r in session.execute(q).all() if scope is None or c in scope]
        cons = reconcile.station_consensus(session, [c for c, _ in rows])
        reported = {c.station for c in cons}
        by_region: dict[str, dict[str, int]] = {}
        for code, region in rows:
            d = by_region.setdefault(region, {"expected": 0, "reported": 0})
            d["expected"] += 1
            d["reported"] += code in reported
        states: dict[str, int] = {}
        for c in cons:
            states[c.state] = states.get(c.state, 0) + 1
        return {
            "by_region": by_region,
            "consensus": states,
            "checks": reconcile.check_counts(session),
        }
