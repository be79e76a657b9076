"""The observer service's web app: JSON API, pages, auth (FastAPI).

>>> import tempfile, pathlib
>>> app = create_app(Settings(db_url="sqlite:///" + str(pathlib.Path(tempfile.mkdtemp()) / "s.db")))
>>> app.openapi()["info"]["title"]
'saylau observer service'
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..store.audit import seal_pending
from ..store.db import Database
from .errors import error_body, install_error_handlers
from .settings import Settings

__all__ = ["Settings", "create_app"]

_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


class _BodyLimit:
    """Refuse request bodies over the limit before reading them (Content-Length), and add the
    security headers to every answer.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task group and a
    streamed copy of every response, a measurable share of a protocol post.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            body = error_body(
                413,
                "PayloadTooLarge",
                "request body too large",
                expected=f"<= {self.limit} bytes",
                found=length,
            )
            await JSONResponse(body, status_code=413, headers=_SECURITY_HEADERS)(
                scope, receive, send
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _sealer(db: Database, period: float, stop: asyncio.Event) -> None:
    """Seal every ``period`` seconds until ``stop`` is set; a seal under way is finished (its
    thread holds a pooled connection, which must be back in the pool before the database is
    closed)."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)
        if stop.is_set():
            return
        try:
            await run_in_threadpool(seal_pending, db.engine)
        except Exception:
            continue


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the app: one settings object and one database handle, injected everywhere."""
    settings = settings or Settings()
    database = db or Database.open(
        settings.db_url, migrate=settings.migrate, pool_size=settings.pool_size
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # each worker seals the audit log's pending entries now and then, so that the last
        # writes of a quiet moment are sealed too (see saylau.store.audit)
        stop = asyncio.Event()
        task = asyncio.create_task(_sealer(database, settings.seal_period, stop))
        try:
            yield
        finally:
            stop.set()
            await task

    app = FastAPI(
        title="saylau observer service",
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    install_error_handlers(app)
    app.add_middleware(_BodyLimit, limit=settings.max_body_bytes)
    from .api import router
    from .sms_api import router as sms_router

    app.include_router(router)
    app.include_router(sms_router)
    try:
        pages = importlib.import_module("saylau.web.pages")
    except ModuleNotFoundError:  # the pages arrive with their own branch
        pages = None
    if pages is not None and hasattr(pages, "install"):
        pages.install(app)
    return app
