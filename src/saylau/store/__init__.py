"""The observer service's storage: schema, migrations and repositories.

:class:`Database` opens SQLite or PostgreSQL and migrates it; the modules below take its
sessions and hand back plain dataclasses or Polars-backed tables, never ORM objects:

``accounts``    people, roles, argon2 passwords, sessions and tokens, login throttling
``masterdata``  the election set up from files (re-import by stable code)
``submissions`` append-only, idempotent events (protocol copies, incidents, interviews)
``reconcile``   consensus per station, coordinators' decisions, official snapshots
``live``        the cached quick count and exit poll
``sms``         the SMS channel: phones and PINs, messages, lockout, quarantine, replies
``audit``       the hash-chained audit log
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._defaults import DEFAULT_URL

if TYPE_CHECKING:  # pragma: no cover
    from .audit import AuditCheck, verify_chain
    from .db import HEAD, Database, downgrade, upgrade

_LAZY = {
    "AuditCheck": "audit",
    "verify_chain": "audit",
    "HEAD": "db",
    "Database": "db",
    "downgrade": "db",
    "upgrade": "db",
}


def __getattr__(name: str) -> Any:
    """Load SQLAlchemy and Alembic only when the store is used (``saylau forensics`` never does)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_URL", "HEAD", "AuditCheck", "Database", "downgrade", "upgrade", "verify_chain"]
