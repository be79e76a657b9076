"""The shipped migrations build the schema the models declare, and undo it, on both engines."""

from __future__ import annotations

from sqlalchemy import inspect

from saylau.store.db import HEAD, current_revision, downgrade, make_engine, upgrade
from saylau.store.models import Base


def test_upgrade_to_head_and_back_to_base(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == HEAD
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        for name, table in Base.metadata.tables.items():
            columns = {c["name"] for c in inspect(engine).get_columns(name)}
            assert columns == set(table.columns.keys()), name
        downgrade(engine)
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_0004_keeps_the_old_chain_and_going_down_seals_what_waits(db_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from saylau.store.audit import GENESIS, entry_hash, own_hash, verify_chain

    engine = make_engine(db_url)
    try:
        upgrade(engine, "0003_fieldapp")
        prev, at = GENESIS, "2024-03-19T20:00:00+00:00"
        with engine.begin() as c:  # three entries chained as 0003 chained them
            for seq, actor in enumerate(["admin", "обс-1", "Qaraghandy"], start=1):
                h = entry_hash(prev, seq, at, actor, "x", "-", "{}")
                c.execute(
                    text(
                        "INSERT INTO audit_log (seq, at, actor, action, target, detail, "
                        "prev_hash, hash) VALUES (:s, :at, :a, 'x', '-', '{}', :p, :h)"
                    ),
                    {"s": seq, "at": at, "a": actor, "p": prev, "h": h},
                )
                prev = h
        upgrade(engine)
        with Session(engine) as s:
            check = verify_chain(s)
        assert check.ok and check.entries == 3 and check.head == prev
        with engine.begin() as c:  # one entry waits for its seal; a new id follows the old ones
            c.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, target, detail, own_hash) "
                    "VALUES (:at, 'obs1', 'y', '-', '{}', :o)"
                ),
                {"at": at, "o": own_hash(at, "obs1", "y", "-", "{}")},
            )
            assert c.execute(text("SELECT max(id) FROM audit_log")).scalar_one() == 4
        downgrade(engine, "0003_fieldapp")
        with engine.connect() as c:
            rows = c.execute(text("SELECT seq, actor, prev_hash, hash FROM audit_log ORDER BY seq"))
            got = [tuple(r) for r in rows]
        assert [r[:2] for r in got] == [(1, "admin"), (2, "обс-1"), (3, "Qaraghandy"), (4, "obs1")]
        assert got[3][2] == prev and got[3][3] == entry_hash(prev, 4, at, "obs1", "y", "-", "{}")
        downgrade(engine)
    finally:
        engine.dispose()
