"""Pages of the people in the field: the observer's protocol and incident forms, the
exit-poll interviewer's batch form.

Each form carries an idempotency key made when the page was drawn; the store keeps the first
submission under a key and answers a resent form with it (a double tap stores once).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .._exceptions import SaylauInputError
from . import page_queries as q
from .fieldapp import router as fieldapp_router
from .pages import (
    AGE_BANDS,
    COMPLAINT_LABELS,
    N_,
    PHASE_LABELS,
    PageRoute,
    gettext_for,
    new_key,
    now_local,
    render,
    request_locale,
    roles_of,
    signed_form,
    signed_in,
    status_of,
)
from .pages import _db as db_of
from .pages import _refused as refused
from .pages import _text as text_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=PageRoute)
router.include_router(fieldapp_router)  # the offline field app (/app/)

INTERVIEW_ROWS = 8


def _settings(request: Request) -> Any:
    from .auth import get_settings

    return get_settings(request)


def _ballot_choices(session: Any) -> tuple[Any, list[dict[str, Any]]]:
    from sqlalchemy import select

    from ..store.models import Choice
    from ..store.submissions import load_ballot

    ballot = load_ballot(session)
    names = dict(session.execute(select(Choice.code, Choice.name)).all())
    return ballot, [{"id": c, "name": names.get(c, c)} for c in ballot.choices]


def _previous(session: Any, user: Any, station: str) -> dict[str, Any] | None:
    from ..store.submissions import current_versions

    mine = [s for s in current_versions(session, "protocol", [station]) if s.account_id == user.id]
    if not mine:
        return None
    last = mine[-1]
    return {"id": last.id, "received": last.received_at.strftime("%Y-%m-%d %H:%M")}


def _observer_page(
    request: Request,
    user: Any,
    station_code: str | None,
    *,
    values: dict[str, str] | None = None,
    flash: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    locale = request_locale(request, user.locale)
    _ = gettext_for(locale)
    with db_of(request).read() as session:
        assigned = q.stations(session, user.stations)
        station = next((s for s in assigned if s.code == station_code), None) or (
            assigned[0] if assigned else None
        )
        ballot, choices = _ballot_choices(session)
        previous = _previous(session, user, station.code) if station else None
        cats = q.categories(session)
        mine = q.my_submissions(session, user.id, "protocol")
    profile = ballot.profile
    numbers = profile.numbers
    from .relations import profile_document

    doc = profile_document(profile, _)
    context = {
        "stations": assigned,
        "station": station,
        "previous": previous,
        "lines": doc["lines"],
        "relations": [{**r, "formula": r["formula"]} for r in doc["relations"]],
        "choices": choices,
        "choice_ids": [c["id"] for c in choices],
        "profile_url": str(request.url_for("page_profile_json", name=profile.name)),
        "values": values or {},
        "protocol_key": new_key(),
        "incident_key": new_key(),
        "categories": [
            {
                "code": c["code"],
                "label": _(c["label"]),
                "phase_label": _(PHASE_LABELS.get(c["phase"], c["phase"])),
            }
            for c in cats
        ],
        "complaint_statuses": [(k, _(v)) for k, v in COMPLAINT_LABELS.items()],
        "now_local": now_local(),
        "mine": mine,
        "flash": flash,
        "numbers": numbers,
    }
    return render(
        request,
        "observer.html",
        context,
        user=user,
        csrf_token=request.state.csrf,
        status_code=status_code,
    )


@router.get("/observer", name="page_observer", **roles_of("observer"))
def observer(request: Request, station: str | None = None, saved: int | None = None) -> Response:
    """Pick an assigned station, type the protocol with its relations checked, report."""
    user = signed_in(request, ("observer",))
    if isinstance(user, Response):
        return user
    flash = None
    if saved is not None:
        _ = gettext_for(request_locale(request, user.locale))
        mine = {s["id"]: s for s in _mine(request, user, "protocol")}
        incident = saved not in mine
        if incident:
            flash = {"kind": "ok", "text": _("Report received. Thank you.")}
        else:
            status = _(_status_label(mine[saved]["status"]))
            flash = {
                "kind": "ok" if mine[saved]["status"] in ("ok", "photo_only") else "error",
                "text": _("Protocol copy received (%(status)s).") % {"status": status},
            }
    return _observer_page(request, user, station, flash=flash)


def _thanks(request: Request, user: Any, saved: int | None, message: str) -> dict[str, str] | None:
    """The flash of a page drawn again after its form was stored (``?saved=``), translated."""
    if saved is None:
        return None
    _ = gettext_for(request_locale(request, user.locale))
    return {"kind": "ok", "text": _(message)}


def _mine(request: Request, user: Any, kind: str) -> list[dict[str, Any]]:
    with db_of(request).read() as session:
        return q.my_submissions(session, user.id, kind)


def _status_label(status: str) -> str:
    from .pages import STATUS_LABELS

    return STATUS_LABELS.get(status, status)


async def _upload(form: Any, name: str) -> bytes | None:
    item = form.get(name)
    if item is None or isinstance(item, str):
        return None
    data: bytes = await item.read()
    return data or None


def _count(text: str, field: str) -> int | None:
    t = text.strip()
    if not t:
        return None
    if not t.isdigit():
        from .._exceptions import DataFormatError

        raise DataFormatError("not a whole number", field=field, expected="integer >= 0", found=t)
    return int(t)


def _store(request: Request, user: Any, form: Any, **submission: Any) -> Any:
    """Store one submission from a page's form (the API's ``submit``, the form's key)."""
    from ..store.submissions import submit

    return submit(db_of(request), user, idem_key=text_of(form, "idempotency_key"), **submission)


def _error(request: Request, user: Any, exc: SaylauInputError) -> tuple[dict[str, str], int]:
    """The translated flash and the HTTP status of a refused form."""
    return {"kind": "error", "text": refused(request, user, exc)}, status_of(exc)


@router.post("/observer/protocol", name="page_observer_protocol", **roles_of("observer"))
async def observer_protocol(request: Request) -> Response:
    """Store a protocol copy (lines and/or photo); it is judged after it is stored."""
    got = await signed_form(request, ("observer",))
    if isinstance(got, Response):
        return got
    user, form = got
    station = text_of(form, "station")
    values = {k.split(":", 1)[1]: v for k, v in form.items() if ":" in k and isinstance(v, str)}
    try:
        lines = {k: n for k, v in values.items() if (n := _count(v, f"lines.{k}")) is not None}
        photo = await _upload(form, "photo")
        replaces = text_of(form, "replaces")
        stored = _store(
            request,
            user,
            form,
            kind="protocol",
            station=station,
            body={"lines": lines} if lines else {},
            photo=photo,
            replaces=int(replaces) if replaces.isdigit() else None,
            max_photo_bytes=_settings(request).max_photo_bytes,
        )
    except SaylauInputError as exc:
        flash, status = _error(request, user, exc)
        return _observer_page(
            request, user, station, values=values, flash=flash, status_code=status
        )
    return RedirectResponse(f"/observer?station={station}&saved={stored.id}", status_code=303)


@router.post("/observer/incident", name="page_observer_incident", **roles_of("observer"))
async def observer_incident(request: Request) -> Response:
    """Store an incident report (with an optional photo)."""
    from ..store.submissions import put_blob

    got = await signed_form(request, ("observer",))
    if isinstance(got, Response):
        return got
    user, form = got
    station = text_of(form, "station")
    try:
        media = await _upload(form, "media")
        shas = []
        if media is not None:
            with db_of(request).write() as session:
                shas.append(put_blob(session, media, max_bytes=_settings(request).max_photo_bytes))
        observed = text_of(form, "observed_at").strip()
        body: dict[str, Any] = {
            "category": text_of(form, "category"),
            "text": text_of(form, "description"),
            "complaint": text_of(form, "complaint_status") or "not_filed",
            "reporter_role": "observer",
            "media": shas,
        }
        if observed:
            body["observed_at"] = observed
        stored = _store(request, user, form, kind="incident", station=station, body=body)
    except SaylauInputError as exc:
        flash, status = _error(request, user, exc)
        return _observer_page(request, user, station, flash=flash, status_code=status)
    return RedirectResponse(f"/observer?station={station}&saved={stored.id}", status_code=303)


# ------------------------------------------------------------------ interviewer
def _interviewer_page(
    request: Request, user: Any, *, flash: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    with db_of(request).read() as session:
        assigned = q.stations(session, user.stations)
        _ballot, choices = _ballot_choices(session)
        mine = q.my_submissions(session, user.id, "interviews")
    context = {
        "stations": assigned,
        "choices": choices,
        "rows": INTERVIEW_ROWS,
        "age_bands": AGE_BANDS,
        "band": "",
        "batch_key": new_key(),
        "mine": mine,
        "flash": flash,
    }
    return render(
        request,
        "interviewer.html",
        context,
        user=user,
        csrf_token=request.state.csrf,
        status_code=status_code,
    )


@router.get("/interviewer", name="page_interviewer", **roles_of("interviewer"))
def interviewer(request: Request, saved: int | None = None) -> Response:
    """Type a batch of exit-poll interviews (answers only) or send a file of them."""
    user = signed_in(request, ("interviewer",))
    if isinstance(user, Response):
        return user
    flash = _thanks(request, user, saved, N_("Batch received. Thank you."))
    return _interviewer_page(request, user, flash=flash)


@router.post("/interviewer/batch", name="page_interviewer_batch", **roles_of("interviewer"))
async def interviewer_batch(request: Request) -> Response:
    from ..io import read_frame

    got = await signed_form(request, ("interviewer",))
    if isinstance(got, Response):
        return got
    user, form = got
    station, band = text_of(form, "station"), text_of(form, "band").strip()
    rows = zip(
        form.getlist("choice"), form.getlist("gender"), form.getlist("age_band"), strict=False
    )
    records: list[dict[str, Any]] = [
        {"band": band or None, "choice": c, "gender": g or None, "age_band": a or None}
        for c, g, a in rows
        if isinstance(c, str) and c
    ]
    try:
        upload = form.get("file")
        data = await _upload(form, "file")
        if data is not None and not isinstance(upload, str) and upload is not None:
            suffix = Path(upload.filename or "batch.csv").suffix or ".csv"
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"batch{suffix}"
                path.write_bytes(data)
                frame, _notes = read_frame(path)
            records.extend(
                {k: v for k, v in r.items() if k not in {"__row", "station"}}
                for r in frame.to_dicts()
            )
        stored = _store(
            request, user, form, kind="interviews", station=station, body={"records": records}
        )
    except SaylauInputError as exc:
        flash, status = _error(request, user, exc)
        return _interviewer_page(request, user, flash=flash, status_code=status)
    return RedirectResponse(f"/interviewer?saved={stored.id}", status_code=303)


# ------------------------------------------------------------------ transcriber
def _transcribe_page(
    request: Request, user: Any, *, flash: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    """The next photo handed to this transcriber (never who sent it) and the lines to type."""
    from ..store.models import Submission
    from ..store.submissions import handed_to

    _ = gettext_for(request_locale(request, user.locale))
    with db_of(request).read() as session:
        mine_of = q.transcribed_photos(session, user.id)
        waiting = [i for i in handed_to(session, user.id) if i not in mine_of]
        task = None
        if waiting:
            sub = session.get(Submission, waiting[0])
            if sub is not None and sub.photo:
                task = {
                    "id": sub.id,
                    "station": sub.station,
                    "photo_url": f"/api/v1/photos/{sub.photo}",
                }
        ballot, choices = _ballot_choices(session)
    from .relations import profile_document

    doc = profile_document(ballot.profile, _)
    context = {
        "task": task,
        "waiting": len(waiting),
        "key": new_key(),
        "lines": doc["lines"],
        "relations": doc["relations"],
        "choices": choices,
        "choice_ids": [c["id"] for c in choices],
        "profile_url": str(request.url_for("page_profile_json", name=ballot.profile.name)),
        "values": {},
        "flash": flash,
    }
    return render(
        request, "transcribe.html", context, user=user, csrf_token=request.state.csrf,
        status_code=status_code,
    )  # fmt: skip


@router.get("/transcribe", name="page_transcribe", **roles_of("transcriber"))
def transcribe(request: Request, saved: int | None = None) -> Response:
    """Type the figures of a photographed protocol (double entry)."""
    user = signed_in(request, ("transcriber",))
    if isinstance(user, Response):
        return user
    flash = _thanks(request, user, saved, N_("Transcription received. Thank you."))
    return _transcribe_page(request, user, flash=flash)


@router.post("/transcribe", name="page_transcribe_post", **roles_of("transcriber"))
async def transcribe_post(request: Request) -> Response:
    from ..store.accounts import AccessDenied
    from ..store.submissions import handed_to

    got = await signed_form(request, ("transcriber",))
    if isinstance(got, Response):
        return got
    user, form = got
    of = text_of(form, "of")
    try:
        with db_of(request).read() as session:
            from ..store.models import Submission

            photo = session.get(Submission, int(of)) if of.isdigit() else None
            if photo is None or photo.id not in handed_to(session, user.id):
                raise AccessDenied("photo not handed to you", field="of", found=of)
            station = photo.station
        values = {k.split(":", 1)[1]: v for k, v in form.items() if ":" in k and isinstance(v, str)}
        lines = {k: n for k, v in values.items() if (n := _count(v, f"lines.{k}")) is not None}
        body = {"of": int(of), "lines": lines}
        stored = _store(request, user, form, kind="transcription", station=station, body=body)
    except SaylauInputError as exc:
        flash, status = _error(request, user, exc)
        return _transcribe_page(request, user, flash=flash, status_code=status)
    return RedirectResponse(f"/transcribe?saved={stored.id}", status_code=303)
