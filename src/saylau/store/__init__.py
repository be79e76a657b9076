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

from .audit import AuditCheck, verify_chain
from .db import DEFAULT_URL, HEAD, Database, downgrade, upgrade

__all__ = ["DEFAULT_URL", "HEAD", "AuditCheck", "Database", "downgrade", "upgrade", "verify_chain"]
