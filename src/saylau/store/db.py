"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL.

>>> import tempfile, pathlib
>>> url = "sqlite:///" + str(pathlib.Path(tempfile.mkdtemp()) / "s.db")
>>> db = Database.open(url)
>>> current_revision(db.engine) == HEAD
True
>>> db.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ._defaults import DEFAULT_URL
from .audit import SEAL_AFTER_COMMIT, seal_pending

__all__ = [
    "DEFAULT_URL",
    "HEAD",
    "Database",
    "current_revision",
    "downgrade",
    "make_engine",
    "upgrade",
]

#: ``saylau serve`` with no ``--db``: a SQLite file in the working directory.
#: The newest migration shipped with this version of saylau.
HEAD = "0004_audit_seal"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and serialised write transactions.

    SQLite transactions start with ``BEGIN IMMEDIATE`` so that two writers wait for each
    other (busy timeout) instead of failing when a read turns into a write.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's begin below decide
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # readers never take the write lock (WAL lets them run beside the one writer)
            read = conn.get_execution_options().get("saylau_read", False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    # no pre-ping (a round trip per checkout); stale connections are recycled instead
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("saylau.store") / "migrations"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest) with the shipped migrations."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the database back to ``revision`` (default: empty)."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclasses.dataclass
class Database:
    """An engine and its session factory; the one handle every repository function takes."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, pool_size: int = 10) -> Database:
        """Connect to ``url`` and (by default) bring its schema up to date."""
        engine = make_engine(url, pool_size=pool_size)
        if migrate:
            upgrade(engine)
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one transaction, committed on success, rolled back on error.

        Durable when the block returns (the commit waits for the disk). A transaction that
        appended to the audit log on PostgreSQL then tries to seal the log's pending entries
        (:func:`saylau.store.audit.seal_pending`: if another sealer is at work it skips at
        once; its entry is then sealed by that sealer or the next one).
        """
        with self.sessions.begin() as session:
            yield session
        if session.info.pop(SEAL_AFTER_COMMIT, False):
            # the write is committed whatever happens here: a failed seal is the next
            # sealer's work (each worker's periodic one), never the writer's error
            with contextlib.suppress(SQLAlchemyError):
                seal_pending(self.engine)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading."""
        with self.sessions() as session:
            session.connection(execution_options={"saylau_read": True})
            yield session

    @contextlib.contextmanager
    def read_conn(self) -> Iterator[Connection]:
        """A Core connection for a single read statement (the session lookup of every request).

        On PostgreSQL outside any transaction (autocommit spares the ``BEGIN`` and ``ROLLBACK``
        round trips around one statement); several statements that must see one snapshot
        belong in :meth:`read`. SQLite reads as :meth:`read` does (a read transaction is local
        and cheap there).
        """
        options: dict[str, Any] = (
            {"isolation_level": "AUTOCOMMIT"} if self.is_postgres else {"saylau_read": True}
        )
        with self.engine.connect().execution_options(**options) as conn:
            yield conn

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
