"""The app factory uvicorn's worker processes call (``saylau serve``).

Each worker builds its settings once at start-up from what ``saylau serve`` handed over in the
environment (``SAYLAU_DB``; ``SAYLAU_SMS_SECRET``, the SMS gateway's signing secret);
nothing is read from the environment after that.
"""

from __future__ import annotations

import gc
import os

from fastapi import FastAPI

from . import create_app
from .settings import Settings

__all__ = ["app_from_environment"]


def app_from_environment() -> FastAPI:
    """Build the app for one worker process.

    What exists once the app is built (modules, routes, the engine) lives as long as the
    worker: it is moved out of the cyclic garbage collector's sight (:func:`gc.freeze`), so
    that the collections that requests trigger do not walk it again and again (fewer long
    pauses in the slowest answers, ``benchmarks/bench_service.py``).
    """
    app = create_app(
        Settings(
            db_url=os.environ.get("SAYLAU_DB", Settings.db_url),
            migrate=False,
            sms_secret=os.environ.get("SAYLAU_SMS_SECRET") or None,
        )
    )
    gc.collect()
    gc.freeze()
    return app
