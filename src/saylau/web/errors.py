"""One error shape for every failure of the API, and no stack trace in any answer.

Every error answer is JSON ``{"error", "message", "file", "row", "field", "expected",
"found", "status"}``: the shape of :meth:`saylau.SaylauInputError.to_dict` plus the HTTP
status. Refusals of writes are audited (who, which route, why) in a transaction of their own,
so the refused request changes nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._exceptions import SaylauError, SaylauInputError
from ..store.accounts import AccessDenied, LoginThrottled, NotAuthenticated
from ..store.audit import append_audit
from ..store.submissions import IdempotencyConflict, NotFound, PayloadTooLarge

__all__ = ["ERROR_FIELDS", "error_body", "error_text", "install_error_handlers"]

ERROR_FIELDS = ("error", "message", "file", "row", "field", "expected", "found", "status")
_log = logging.getLogger("saylau.web")

_STATUS: tuple[tuple[type[SaylauInputError], int], ...] = (
    (NotAuthenticated, 401),
    (AccessDenied, 403),
    (NotFound, 404),
    (IdempotencyConflict, 409),
    (PayloadTooLarge, 413),
    (LoginThrottled, 429),
)
_NAMES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "TooManyRequests",
}


def status_of(exc: SaylauInputError) -> int:
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    return 422


def error_text(exc: Exception, gettext: Callable[[str], str]) -> str:
    """A refused input as a person reads it, in the language of ``gettext``.

    The library's errors are typed (:class:`~saylau.SaylauInputError`: message, field,
    expected, found). Their message and expected value are the msgids of the interface
    catalogue (``tests/web/test_i18n.py`` fails when one raised in ``saylau.store`` or
    ``saylau.web`` lacks a translation); the field and the value found are data, shown as
    they are. Anything else shows its text.

    >>> from saylau._exceptions import DataFormatError
    >>> from saylau.web.i18n import translations
    >>> err = DataFormatError("not a whole number", field="lines.valid", found="x",
    ...                       expected="integer >= 0")
    >>> error_text(err, translations("en").gettext)
    'not a whole number (field lines.valid, expected integer >= 0, found x)'
    >>> error_text(err, translations("kk").gettext)
    'бүтін сан емес (өріс lines.valid, күтілгені: бүтін сан ≥ 0, табылғаны: x)'
    """
    _ = gettext
    if not isinstance(exc, SaylauInputError):
        return str(exc)
    parts = []
    if exc.field is not None:
        parts.append(_("field %(field)s") % {"field": exc.field})
    if exc.expected is not None:
        parts.append(_("expected %(expected)s") % {"expected": _(str(exc.expected))})
    if exc.found is not None:
        parts.append(_("found %(found)s") % {"found": exc.found})
    text = _(exc.message)
    return f"{text} ({', '.join(parts)})" if parts else text


def error_body(status: int, error: str, message: str, **where: Any) -> dict[str, Any]:
    """The one error shape."""
    body = dict.fromkeys(ERROR_FIELDS)
    body.update({"error": error, "message": message, "status": status})
    for k, v in where.items():
        if k in body and v is not None:
            body[k] = v if k == "row" else str(v)
    return body


def _audit_refusal(request: Request, status: int, body: dict[str, Any]) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or status in (401, 429):
        return  # reads are not writes; 401/429 are audited as login failures where they occur
    db = getattr(request.app.state, "db", None)
    if db is None:
        return
    user = getattr(request.state, "user", None)
    try:
        with db.write() as session:
            append_audit(
                session,
                actor=user.username if user else "-",
                action="refused",
                target=f"{request.method} {request.url.path}",
                detail={
                    "status": status,
                    "error": body["error"],
                    "message": body["message"],
                    "field": body["field"],
                },
            )
    except Exception:  # pragma: no cover - never turn a refusal into a 500
        _log.exception("could not audit a refusal")


async def _answer(request: Request, status: int, body: dict[str, Any]) -> JSONResponse:
    await run_in_threadpool(_audit_refusal, request, status, body)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure into the one shape."""

    @app.exception_handler(SaylauInputError)
    async def _input(request: Request, exc: SaylauInputError) -> JSONResponse:
        status = status_of(exc)
        d = exc.to_dict()
        return await _answer(request, status, {**d, "status": status})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first: dict[str, Any] = errs[0] if errs else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        found = first.get("input")
        text = None if found is None else repr(found)[:200]
        body = error_body(
            422,
            "InvalidInput",
            str(first.get("msg", "invalid request")),
            field=".".join(loc) or None,
            found=text,
            expected=first.get("type"),
        )
        return await _answer(request, 422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = exc.status_code
        name = _NAMES.get(code, "HTTPError")
        return await _answer(request, code, error_body(code, name, str(exc.detail)))

    @app.exception_handler(SaylauError)
    async def _saylau(request: Request, exc: SaylauError) -> JSONResponse:
        _log.exception("saylau error")
        return await _answer(
            request, 500, error_body(500, "ServerError", "the server failed; see its log")
        )

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled error")
        return JSONResponse(
            error_body(500, "ServerError", "the server failed; see its log"), status_code=500
        )
