"""The audit chain catches an edited, a deleted and an inserted entry, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from saylau.store.audit import GENESIS, entry_hash, verify_chain
from saylau.store.db import Database


@pytest.fixture
def db(election: tuple[str, dict[str, str]]):  # type: ignore[no-untyped-def]
    database = Database.open(election[0])
    yield database
    database.close()


def _check(db: Database):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return verify_chain(s)


def test_intact_chain_verifies(db: Database) -> None:
    check = _check(db)
    assert check.ok and check.entries > 10
    assert check.first_bad is None


def test_edited_entry_is_named(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 4"))
    check = _check(db)
    assert not check.ok
    assert check.first_bad == 4
    assert "altered" in (check.problem or "")


def test_deleted_entry_is_named(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    check = _check(db)
    assert not check.ok
    assert check.first_bad == 6  # the entry after the gap
    assert "removed" in (check.problem or "")


def test_inserted_entry_is_named(db: Database) -> None:
    with db.engine.begin() as c:
        last = c.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        # a forged entry at the end with a self-consistent hash that does not link to the chain
        body = "{}"
        forged = entry_hash(
            GENESIS, last + 1, "2024-03-19T20:00:00+00:00", "x", "resolve", "-", body
        )
        c.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash) "
                "VALUES (:s, '2024-03-19T20:00:00+00:00', 'x', 'resolve', '-', :d, :p, :h)"
            ),
            {"s": last + 1, "d": body, "p": GENESIS, "h": forged},
        )
    check = _check(db)
    assert not check.ok
    assert check.first_bad == last + 1
    assert "inserted" in (check.problem or "")


def test_inserted_in_the_middle_is_caught(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3"))
        c.execute(text("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1003"))
        prev = c.execute(text("SELECT hash FROM audit_log WHERE seq = 2")).scalar_one()
        h = entry_hash(prev, 3, "2024-03-19T20:00:00+00:00", "x", "resolve", "-", "{}")
        c.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash) "
                "VALUES (3, '2024-03-19T20:00:00+00:00', 'x', 'resolve', '-', '{}', :p, :h)"
            ),
            {"p": prev, "h": h},
        )
    check = _check(db)
    assert not check.ok
    assert check.first_bad == 4  # the renumbered entry after the inserted one no longer matches
