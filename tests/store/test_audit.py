"""The audit log on both engines: entries appended unsealed, chained by the sealer.

Tampering done directly in the database (an edited, a deleted and an inserted entry, sealed or
not) is named by ``verify_chain``; entries committed out of id order are chained in the order
they were sealed; two sealers racing neither fork the chain nor seal an entry twice; entries
left unsealed by a crash between commit and seal are reported, then sealed.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text

from saylau.store.audit import (
    GENESIS,
    TAMPER_WINDOW,
    append_audit,
    entry_hash,
    own_hash,
    seal_pending,
    verify_chain,
)
from saylau.store.db import Database, make_engine
from saylau.store.models import AuditEntry


@pytest.fixture
def db(election: tuple[str, dict[str, str]]):  # type: ignore[no-untyped-def]
    database = Database.open(election[0])
    yield database
    database.close()


def _check(db: Database, **kw):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return verify_chain(s, **kw)


def _insert_unsealed(db: Database, at: str, actor: str, own: str | None = None) -> int:
    """An entry as an append leaves it before its seal, written by hand."""
    detail = '{"station": "ALA-1"}'
    own = own if own is not None else own_hash(at, actor, "submit.protocol", "protocol:9", detail)
    with db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, target, detail, own_hash) "
                "VALUES (:at, :actor, 'submit.protocol', 'protocol:9', :d, :own)"
            ),
            {"at": at, "actor": actor, "d": detail, "own": own},
        )
        return int(c.execute(text("SELECT max(id) FROM audit_log")).scalar_one())


def _seqs(db: Database) -> list[int | None]:
    with db.read() as s:
        return list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.id)))


def test_intact_chain_verifies(db: Database) -> None:
    check = _check(db)
    assert check.ok and check.entries > 10
    assert check.first_bad is None and check.unsealed == 0
    seqs = _seqs(db)  # every entry of the set-up is sealed, numbered 1..n without a gap
    assert sorted(s for s in seqs if s is not None) == list(range(1, len(seqs) + 1))


def test_edited_entry_is_named(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 4"))
    check = _check(db)
    assert not check.ok
    assert check.first_bad == 4
    assert "altered" in (check.problem or "")


def test_sealed_entry_edited_with_its_own_hash_recomputed_is_named(db: Database) -> None:
    with db.engine.begin() as c:
        row = c.execute(text("SELECT at, actor, action, target FROM audit_log WHERE seq = 6")).one()
        forged = own_hash(row.at, row.actor, row.action, row.target, '{"forged": 1}')
        c.execute(
            text("UPDATE audit_log SET detail = '{\"forged\": 1}', own_hash = :h WHERE seq = 6"),
            {"h": forged},
        )
    check = _check(db)
    assert not check.ok and check.first_bad == 6 and "altered" in (check.problem or "")


def test_deleted_entry_is_named(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    check = _check(db)
    assert not check.ok
    assert check.first_bad == 6  # the entry after the gap
    assert "removed" in (check.problem or "")


def test_inserted_entry_is_named(db: Database) -> None:
    at = "2024-03-19T20:00:00+00:00"
    with db.engine.begin() as c:
        last = c.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        # a forged entry at the end with a self-consistent hash that does not link to the chain
        forged = entry_hash(GENESIS, last + 1, at, "x", "resolve", "-", "{}")
        c.execute(
            text(
                "INSERT INTO audit_log "
                "(seq, at, actor, action, target, detail, own_hash, prev_hash, hash) "
                "VALUES (:s, :at, 'x', 'resolve', '-', '{}', :o, :p, :h)"
            ),
            {"s": last + 1, "at": at, "o": own_hash(at, "x", "resolve", "-", "{}")}
            | {"p": GENESIS, "h": forged},
        )
    check = _check(db)
    assert not check.ok
    assert check.first_bad == last + 1
    assert "inserted" in (check.problem or "")


def test_inserted_in_the_middle_is_caught(db: Database) -> None:
    at = "2024-03-19T20:00:00+00:00"
    with db.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3"))
        c.execute(text("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1003"))
        prev = c.execute(text("SELECT hash FROM audit_log WHERE seq = 2")).scalar_one()
        h = entry_hash(prev, 3, at, "x", "resolve", "-", "{}")
        c.execute(
            text(
                "INSERT INTO audit_log "
                "(seq, at, actor, action, target, detail, own_hash, prev_hash, hash) "
                "VALUES (3, :at, 'x', 'resolve', '-', '{}', :o, :p, :h)"
            ),
            {"at": at, "o": own_hash(at, "x", "resolve", "-", "{}"), "p": prev, "h": h},
        )
    check = _check(db)
    assert not check.ok
    assert check.first_bad == 4  # the renumbered entry after the inserted one no longer matches


def test_unsealed_entry_forged_by_hand_is_named_and_never_sealed(db: Database) -> None:
    # an entry that no write made, inserted without its own hash right (the hash of other text)
    now = dt.datetime.now(dt.UTC).isoformat()
    forged = _insert_unsealed(db, now, "nobody", own="0" * 64)
    check = _check(db)
    assert not check.ok and check.bad_id == forged
    assert "own hash does not match" in (check.problem or "")
    assert seal_pending(db.engine) == 0  # the sealer leaves it out of the chain
    with db.read() as s:
        assert s.get(AuditEntry, forged).seq is None  # type: ignore[union-attr]
    assert f"unsealed entry id {forged}" in _check(db).summary()


def test_crash_between_commit_and_seal_is_reported_then_sealed(db: Database) -> None:
    # a write committed its entry and the process died before sealing it: the entry waits,
    # within the window it is fine, past the window verify reports it, sealing mends it
    before = _check(db).entries
    at = dt.datetime.now(dt.UTC)
    waiting = _insert_unsealed(db, at.isoformat(timespec="microseconds"), "obs1")
    fresh = _check(db, now=at + dt.timedelta(seconds=1))
    assert fresh.ok and fresh.unsealed == 1 and "1 waiting to be sealed" in fresh.summary()
    late = _check(db, now=at + dt.timedelta(seconds=TAMPER_WINDOW + 1))
    assert not late.ok and late.bad_id == waiting and "tamper window" in (late.problem or "")
    assert seal_pending(db.engine) == 1
    after = _check(db, now=at + dt.timedelta(seconds=TAMPER_WINDOW + 1))
    assert after.ok and after.entries == before + 1 and after.unsealed == 0


def test_audited_writes_are_sealed_when_the_write_returns(db: Database) -> None:
    before = _check(db).entries
    for i in range(3):
        with db.write() as s:
            append_audit(s, actor="test", action="t", target=str(i))
    check = _check(db)
    assert check.ok and check.entries == before + 3 and check.unsealed == 0


def test_entries_committed_out_of_id_order_are_chained_in_seal_order(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite has one writer: its entries commit in id order and seal inline")
    first = db.engine.connect()
    try:
        with db.write() as s:  # sealed now: the chain's head before the race
            append_audit(s, actor="order-test", action="before")
        tx1 = first.begin()
        with db.sessions(bind=first) as s1:
            append_audit(s1, actor="order-test", action="early id, late commit")
        with db.write() as s:  # a later id, committed and sealed first
            append_audit(s, actor="order-test", action="late id, early commit")
        tx1.commit()
        assert seal_pending(db.engine) == 1
    finally:
        first.close()
    check = _check(db)
    assert check.ok and check.unsealed == 0
    with db.read() as s:
        rows = s.execute(
            select(AuditEntry.id, AuditEntry.seq, AuditEntry.action)
            .where(AuditEntry.actor == "order-test")
            .order_by(AuditEntry.seq)
        ).all()
    assert [r.action for r in rows] == ["before", "late id, early commit", "early id, late commit"]
    assert rows[1].id > rows[2].id  # the chain follows the seals, not the ids


def test_a_sealer_at_work_makes_the_others_skip_without_waiting(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite seals inline, in the one writer's transaction")
    other = make_engine(str(db.engine.url.render_as_string(hide_password=False)))
    try:
        with other.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(7311972001)"))
            _insert_unsealed(db, dt.datetime.now(dt.UTC).isoformat(), "obs1")
            assert seal_pending(db.engine) is None  # skipped: someone else is sealing
            holder.execute(text("SELECT pg_advisory_unlock(7311972001)"))
        assert seal_pending(db.engine) == 1
    finally:
        other.dispose()
    assert _check(db).ok


def test_two_sealers_racing_neither_fork_nor_seal_twice(db: Database) -> None:
    # two "worker processes" (separate engines) seal in a loop while four threads write
    url = db.engine.url.render_as_string(hide_password=False)
    sealers = [Database.open(url, migrate=False) for _ in range(2)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def seal(d: Database) -> None:
        try:
            while not stop.is_set():
                seal_pending(d.engine)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def write(n: int) -> None:
        try:
            for i in range(15):
                with sealers[n % 2].write() as s:
                    append_audit(s, actor=f"w{n}", action="race", target=str(i))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    seal_threads = [threading.Thread(target=seal, args=(d,)) for d in sealers]
    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in seal_threads + writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    for t in seal_threads:
        t.join(60)
    for d in sealers:
        seal_pending(d.engine)
        d.close()
    assert not errors, errors
    check = _check(db)
    assert check.ok and check.unsealed == 0
    seqs = _seqs(db)
    assert sorted(s for s in seqs if s is not None) == list(range(1, len(seqs) + 1))
    with db.read() as s:
        raced = s.scalars(select(AuditEntry.seq).where(AuditEntry.action == "race")).all()
    assert len(raced) == 60 and None not in raced and len(set(raced)) == 60
