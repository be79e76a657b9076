"""The observer service's web app: JSON API, pages, auth (FastAPI).

>>> import tempfile, pathlib
>>> app = create_app(Settings(db_url="sqlite:///" + str(pathlib.Path(tempfile.mkdtemp()) / "s.db")))
>>> app.openapi()["info"]["title"]
'saylau observer service'
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from ..store.db import Database
from .errors import error_body, install_error_handlers
from .settings import Settings

__all__ = ["Settings", "create_app"]


class _BodyLimit(BaseHTTPMiddleware):
    """Refuse request bodies over the limit before reading them (Content-Length)."""

    def __init__(self, app: Any, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            from fastapi.responses import JSONResponse

            body = error_body(
                413,
                "PayloadTooLarge",
                "request body too large",
                expected=f"<= {self.limit} bytes",
                found=length,
            )
            return JSONResponse(body, status_code=413)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the app: one settings object and one database handle, injected everywhere."""
    settings = settings or Settings()
    database = db or Database.open(
        settings.db_url, migrate=settings.migrate, pool_size=settings.pool_size
    )
    app = FastAPI(title="saylau observer service", version="1", docs_url=None, redoc_url=None)
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
