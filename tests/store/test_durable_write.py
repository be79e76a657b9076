"""An audited write on PostgreSQL is on disk when ``Database.write`` returns.

Checked with the server's own WAL positions: right after the commit (from another connection)
the WAL is written up to some position P; when ``write`` returns, the server must report the WAL
flushed at least to P. A commit that did not wait for the disk (``synchronous_commit = off``,
as the audit append once set to keep its lock short) lags behind: PostgreSQL's WAL writer
flushes asynchronous commits within ``wal_writer_delay``, 200 ms by default, and this test
fails. The audit entry is appended without a lock now, so the commit simply waits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from saylau.store.audit import append_audit
from saylau.store.db import Database
from tests._service import new_postgres_database


def test_audited_write_is_flushed_before_write_returns(postgres_url_base: str) -> None:
    db = Database.open(new_postgres_database(postgres_url_base))
    # the test server runs with synchronous_commit off (tests/_service.py); production has the
    # default, on: give this database the production setting
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'ALTER DATABASE "{db.engine.url.database}" SET synchronous_commit = on'))
    db.engine.dispose()  # new connections take the database's setting
    try:
        written: list[str] = []

        def after_commit(session: Any) -> None:
            with db.engine.connect() as other:
                written.append(
                    str(other.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar())
                )

        for i in range(5):
            with db.write() as session:
                event.listen(session, "after_commit", after_commit)
                append_audit(session, actor="test", action="durable", target=str(i))
                committed = session.execute(text("SHOW synchronous_commit")).scalar()
            assert committed == "on"  # the production setting, not weakened for the audit
            with db.engine.connect() as other:
                ok = other.execute(
                    text("SELECT pg_current_wal_flush_lsn() >= CAST(:p AS pg_lsn)"),
                    {"p": written[-1]},
                ).scalar()
            assert ok, f"write {i} returned before the WAL was flushed to {written[-1]}"
    finally:
        db.close()
