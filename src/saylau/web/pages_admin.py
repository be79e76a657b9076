"""The admin's pages: people and roles, election files, incident categories, the audit chain."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .._exceptions import SaylauInputError
from ..domain.profiles import PROFILES
from . import page_queries as q
from .pages import (
    IMPORT_KINDS,
    PHASE_LABELS,
    ROLE_LABELS,
    PageRoute,
    gettext_for,
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
ADMIN = ("admin",)


def _admin_page(
    request: Request,
    user: Any,
    *,
    flash: dict[str, str] | None = None,
    new_password: dict[str, str] | None = None,
    import_report: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    from ..store.audit import verify_chain
    from ..store.models import Setting

    _ = gettext_for(request_locale(request, user.locale))
    with db_of(request).read() as session:
        accounts = q.accounts(session)
        cats = q.categories(session)
        snapshots = q.snapshots(session)
        audit = verify_chain(session)
        profile_row = session.get(Setting, "profile")
    context = {
        "accounts": accounts,
        "role_labels": {k: _(v) for k, v in ROLE_LABELS.items()},
        "import_kinds": [(k, _(v)) for k, v in IMPORT_KINDS],
        "phase_labels": {k: _(v) for k, v in PHASE_LABELS.items()},
        "profiles": sorted(PROFILES),
        "profile": profile_row.value["name"] if profile_row is not None else "plain",
        "categories": cats,
        "snapshots": snapshots,
        "audit": {
            "ok": audit.ok,
            "entries": audit.entries,
            "problem": "" if audit.ok else f"#{audit.first_bad}: {audit.problem}",
        },
        "flash": flash,
        "new_password": new_password,
        "import_report": import_report,
    }
    return render(
        request,
        "admin.html",
        context,
        user=user,
        csrf_token=request.state.csrf,
        status_code=status_code,
    )


@router.get("/admin", name="page_admin", **roles_of(*ADMIN))
def admin(request: Request) -> Response:
    """People, files, categories and the audit chain."""
    user = signed_in(request, ADMIN)
    if isinstance(user, Response):
        return user
    return _admin_page(request, user)


def _failed(request: Request, user: Any, exc: SaylauInputError) -> Response:
    flash = {"kind": "error", "text": refused(request, user, exc)}
    return _admin_page(request, user, flash=flash, status_code=status_of(exc))


@router.post("/admin/accounts", name="page_admin_account", **roles_of(*ADMIN))
async def add_account(request: Request) -> Response:
    """Add a person; the generated password is shown once, never stored in clear."""
    from ..store.accounts import create_account, generate_password

    got = await signed_form(request, ADMIN)
    if isinstance(got, Response):
        return got
    user, form = got
    role, scope = text_of(form, "role"), text_of(form, "scope").strip()
    username = text_of(form, "username").strip()
    password = generate_password()
    try:
        with db_of(request).write() as session:
            create_account(
                session,
                username=username,
                password=password,
                role=role,
                actor=user.username,
                full_name=text_of(form, "full_name").strip(),
                commission=scope or None if role == "coordinator" else None,
                locale=text_of(form, "locale") or "kk",
                stations=tuple(scope.replace(";", " ").split())
                if role in ("observer", "interviewer")
                else (),
            )
    except SaylauInputError as exc:
        return _failed(request, user, exc)
    return _admin_page(request, user, new_password={"username": username, "password": password})


@router.post("/admin/accounts/{account_id}/role", name="page_admin_role", **roles_of(*ADMIN))
async def change_role(account_id: str, request: Request) -> Response:
    got = await signed_form(request, ADMIN)
    if isinstance(got, Response):
        return got
    user, form = got
    try:
        with db_of(request).write() as session:
            q.change_role(
                session,
                user,
                int(account_id) if account_id.isdigit() else -1,
                text_of(form, "role"),
            )
    except SaylauInputError as exc:
        return _failed(request, user, exc)
    return RedirectResponse("/admin#people", status_code=303)


@router.post("/admin/import", name="page_admin_import", **roles_of(*ADMIN))
async def import_file(request: Request) -> Response:
    """Load master data or official results from a file (any format the io readers read)."""
    from ..store import masterdata
    from ..store.reconcile import import_official

    got = await signed_form(request, ADMIN)
    if isinstance(got, Response):
        return got
    user, form = got
    kind = text_of(form, "kind")
    upload = form.get("file")
    _ = gettext_for(request_locale(request, user.locale))
    if kind not in dict(IMPORT_KINDS) or upload is None or isinstance(upload, str):
        flash = {"kind": "error", "text": _("Choose what the file holds and the file.")}
        return _admin_page(request, user, flash=flash, status_code=422)
    name = Path(upload.filename or "upload").name
    data = await upload.read()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            with db_of(request).write() as session:
                if kind == "official":
                    official = import_official(session, path, actor=user.username)
                    report = {
                        "source": official.source,
                        "summary": official.summary(),
                        "changes": [
                            f"{c['station']} · {c['line']}: {c['before']} → {c['after']}"
                            for c in official.changes[:200]
                        ],
                    }
                else:
                    rep = masterdata.import_file(session, kind, path, actor=user.username)
                    report = {
                        "source": name,
                        "summary": rep.summary(),
                        "changes": [
                            f"{code}: "
                            + ", ".join(f"{f} {a} → {b}" for f, (a, b) in fields.items())
                            for code, fields in rep.changed.items()
                        ],
                    }
    except SaylauInputError as exc:
        return _failed(request, user, exc)
    return _admin_page(request, user, import_report=report)


@router.post("/admin/profile", name="page_admin_profile", **roles_of(*ADMIN))
async def choose_profile(request: Request) -> Response:
    from ..store.masterdata import set_profile

    got = await signed_form(request, ADMIN)
    if isinstance(got, Response):
        return got
    user, form = got
    try:
        with db_of(request).write() as session:
            set_profile(session, text_of(form, "profile"), actor=user.username)
    except SaylauInputError as exc:
        return _failed(request, user, exc)
    return RedirectResponse("/admin#imports", status_code=303)


@router.post("/admin/categories", name="page_admin_category", **roles_of(*ADMIN))
async def add_category(request: Request) -> Response:
    """Add an incident category (no code change needed)."""
    from ..store.masterdata import import_incident_categories

    got = await signed_form(request, ADMIN)
    if isinstance(got, Response):
        return got
    user, form = got
    row = {
        "code": text_of(form, "code").strip(),
        "phase": text_of(form, "phase"),
        "category": text_of(form, "label").strip(),
    }
    try:
        with db_of(request).write() as session:
            import_incident_categories(session, actor=user.username, rows=[row])
    except SaylauInputError as exc:
        return _failed(request, user, exc)
    return RedirectResponse("/admin#categories", status_code=303)
