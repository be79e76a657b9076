"""The tamper-evident audit log: every write appends an entry; a sealer chains them by SHA-256.

Two steps, so that writers never wait for one another:

1. **Append** (:func:`append_audit`, in the transaction of the write it records, so that no
   write is acknowledged without its entry): the entry is inserted with its content and its
   own hash ``own = SHA-256("saylau audit entry" | at | actor | action | target | detail)``,
   and no place in the chain yet. No lock is taken.
2. **Seal** (:func:`seal_pending`): the sealer takes the committed unsealed entries (by ``id``
   within one batch) and gives each the next sequence number ``n`` and
   ``hash_n = SHA-256(hash_{n-1} | n | at | actor | action | target | detail)`` (canonical
   JSON), with ``hash_0`` the SHA-256 of ``"saylau audit log"``. Only the sealer takes the
   chain's lock (PostgreSQL: ``pg_try_advisory_lock``, so that a second sealer skips instead
   of waiting; SQLite: its one writer, and SQLite seals inline, in the appending transaction).
   The chain's order is the order of sealing, not of ``id``: PostgreSQL hands out ids at insert
   and commits them in another order, and an entry committed late is sealed in a later batch.

On PostgreSQL a write seals after its commit (a try; if another sealer is at work, it skips) and
each web worker seals every :data:`SEAL_PERIOD` seconds, so that the last entries get sealed
without more traffic. Everything lives in the database; the server keeps no state.

:func:`verify_chain` recomputes the sealed chain: an edited entry breaks its own hash, a
removed one leaves a gap in the numbers (or a broken link when the tail is cut and re-chained
by hand), an inserted one breaks the next link; it names the first entry where the chain
breaks. Each unsealed entry's own hash is checked, and an entry left unsealed for longer than
:data:`TAMPER_WINDOW` seconds is reported (no sealer is running).

**The tamper window.** Between its commit and its seal (normally well under a second, bounded by
the sealer's period) an entry is protected only by its own hash, which anyone with write access
to the database can recompute: in that window an entry can be changed or removed, or a forged
one added, without a trace. A forged entry whose own hash does not match is never sealed and is
named. Once sealed, an entry is as safe as every earlier one.

Cutting off the newest entries cannot be seen from the table alone (nor could it before
sealing in batches); the head hash that ``saylau audit verify`` prints is meant to be written
down or published from time to time, and ``expect_head`` checks it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from .models import AuditEntry

__all__ = [
    "GENESIS",
    "SEAL_AFTER_COMMIT",
    "SEAL_PERIOD",
    "TAMPER_WINDOW",
    "AuditCheck",
    "append_audit",
    "entry_hash",
    "own_hash",
    "seal_pending",
    "verify_chain",
]

#: The hash that the first entry links to.
GENESIS = hashlib.sha256(b"saylau audit log").hexdigest()
_LOCK_KEY = 7_311_972_001  # PostgreSQL advisory lock id of the audit chain's sealer
#: ``Session.info`` key: the transaction appended unsealed entries (sealed after its commit).
SEAL_AFTER_COMMIT = "saylau_seal_after_commit"
#: Seconds between two runs of a web worker's sealer.
SEAL_PERIOD = 0.5
#: Seconds an entry may stay unsealed before :func:`verify_chain` reports it.
TAMPER_WINDOW = 5.0
_BATCH = 5000
_T: Table = AuditEntry.__table__  # type: ignore[assignment]
_INSERT = insert(_T)  # built once: every write runs it


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, target: str, detail: str
) -> str:
    """The SHA-256 of one entry chained to ``prev_hash``.

    >>> len(entry_hash(GENESIS, 1, "2024-01-01T00:00:00+00:00", "admin", "init", "-", "{}"))
    64
    """
    return _sha([prev_hash, seq, at, actor, action, target, detail])


def own_hash(at: str, actor: str, action: str, target: str, detail: str) -> str:
    """The SHA-256 of one entry's own content (checked while it waits to be sealed).

    >>> own_hash("2024-01-01T00:00:00+00:00", "admin", "init", "-", "{}") == own_hash(
    ...     "2024-01-01T00:00:00+00:00", "admin", "init", "-", '{"x": 1}')
    False
    """
    return _sha(["saylau audit entry", at, actor, action, target, detail])


def _sha(items: list[Any]) -> str:
    payload = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append_audit(
    session: Session, *, actor: str, action: str, target: str = "-", detail: Any = None
) -> None:
    """Append one unsealed entry in the caller's transaction (no lock taken).

    On SQLite the entry is sealed in the same transaction (the one writer holds the database).
    On PostgreSQL the session is marked so that :meth:`saylau.store.db.Database.write` seals
    after the commit; a transaction committed elsewhere is sealed by the next sealer to run.
    """
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    body = json.dumps(detail if detail is not None else {}, ensure_ascii=False, sort_keys=True)
    target = target[:300]
    conn = session.connection()
    conn.execute(
        _INSERT,
        {
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "detail": body,
            "own_hash": own_hash(at, actor, action, target, body),
        },
    )
    if conn.dialect.name == "postgresql":
        session.info[SEAL_AFTER_COMMIT] = True
    else:
        _seal(session, postgres=False)


def _seal(conn: Session | Connection, *, postgres: bool) -> int:
    """Chain the committed unsealed entries after the head; the caller holds the sealer's lock."""
    total = 0
    while True:
        head = conn.execute(
            select(_T.c.seq, _T.c.hash)
            .where(_T.c.seq.is_not(None))
            .order_by(_T.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (0, GENESIS) if head is None else (int(head[0]), str(head[1]))
        rows = conn.execute(
            select(
                _T.c.id, _T.c.at, _T.c.actor, _T.c.action, _T.c.target, _T.c.detail, _T.c.own_hash
            )
            .where(_T.c.seq.is_(None))
            .order_by(_T.c.id)
            .limit(_BATCH)
        ).all()
        ids: list[int] = []
        seqs: list[int] = []
        prevs: list[str] = []
        hashes: list[str] = []
        for r in rows:
            if own_hash(r.at, r.actor, r.action, r.target, r.detail) != r.own_hash:
                continue  # altered or forged while unsealed: never chained, verify names it
            seq += 1
            h = entry_hash(prev, seq, r.at, r.actor, r.action, r.target, r.detail)
            ids.append(r.id)
            seqs.append(seq)
            prevs.append(prev)
            hashes.append(h)
            prev = h
        if ids and postgres:
            # one statement: atomic in autocommit, one round trip for the whole batch
            conn.execute(
                text(
                    "UPDATE audit_log AS a SET seq = v.seq, prev_hash = v.prev, hash = v.hash "
                    "FROM unnest(CAST(:ids AS integer[]), CAST(:seqs AS integer[]), "
                    "CAST(:prevs AS text[]), CAST(:hashes AS text[])) AS v(id, seq, prev, hash) "
                    "WHERE a.id = v.id AND a.seq IS NULL"
                ),
                {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes},
            )
        elif ids:
            conn.execute(
                update(_T)
                .where(_T.c.id == bindparam("b_id"))
                .values(
                    seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")
                ),
                [
                    {"b_id": i, "b_seq": s, "b_prev": p, "b_hash": h}
                    for i, s, p, h in zip(ids, seqs, prevs, hashes, strict=True)
                ],
            )
        total += len(ids)
        if len(rows) < _BATCH:
            return total


_busy: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_busy_guard = threading.Lock()


def seal_pending(engine: Engine) -> int | None:
    """Seal the committed unsealed entries; the number sealed, or None when another sealer runs.

    Never waits for another sealer: on PostgreSQL it tries the chain's advisory lock (held by
    this connection only while it seals) and skips if someone holds it; a thread of this
    process that is already sealing makes the others skip without a round trip.
    """
    with _busy_guard:
        busy = _busy.setdefault(engine, threading.Lock())
    if not busy.acquire(blocking=False):
        return None
    try:
        if engine.dialect.name != "postgresql":
            with engine.connect() as conn:
                pending = conn.execute(select(_T.c.id).where(_T.c.seq.is_(None)).limit(1)).first()
            if pending is None:
                return 0
            with Session(engine) as session, session.begin():
                return _seal(session, postgres=False)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            lock = text("SELECT pg_try_advisory_lock(:k)")
            if not conn.execute(lock, {"k": _LOCK_KEY}).scalar():
                return None
            try:
                return _seal(conn, postgres=True)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
    finally:
        busy.release()


@dataclasses.dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify_chain` found.

    ``ok`` is true when every sealed entry links to the one before and its hash is right, and
    every unsealed entry's own hash is right and it is younger than the tamper window;
    otherwise ``problem`` says what is wrong, with ``first_bad`` the sequence number of the
    first sealed entry where the chain breaks (``altered``, ``removed before`` or ``inserted``)
    or ``bad_id`` the id of the unsealed entry at fault. ``entries`` counts the sealed entries,
    ``unsealed`` those waiting for the sealer.
    """

    ok: bool
    entries: int
    head: str
    first_bad: int | None = None
    problem: str | None = None
    unsealed: int = 0
    bad_id: int | None = None

    def summary(self) -> str:
        """One line for the terminal."""
        if self.ok:
            waiting = f"; {self.unsealed} waiting to be sealed" if self.unsealed else ""
            return f"audit log intact: {self.entries} entries, head {self.head}{waiting}"
        if self.first_bad is not None:
            return f"audit log broken at entry {self.first_bad}: {self.problem}"
        return f"audit log broken at unsealed entry id {self.bad_id}: {self.problem}"


def verify_chain(
    session: Session,
    *,
    expect_head: str | None = None,
    window: float = TAMPER_WINDOW,
    now: dt.datetime | None = None,
) -> AuditCheck:
    """Recompute the sealed chain and name the first entry altered, removed or inserted; check
    the unsealed entries' own hashes and that none has waited longer than ``window`` seconds.
    """
    prev_hash, prev_seq, count = GENESIS, 0, 0
    sealed = select(AuditEntry).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq)
    for e in session.execute(sealed).scalars():
        count += 1
        seq = int(e.seq or 0)
        own = entry_hash(str(e.prev_hash), seq, e.at, e.actor, e.action, e.target, e.detail)
        if seq != prev_seq + 1:
            if e.prev_hash == prev_hash and own == e.hash:
                problem = f"inserted (number {seq} after {prev_seq})"
            else:
                problem = f"removed: entries {prev_seq + 1}..{seq - 1} are missing"
            return AuditCheck(False, count, prev_hash, seq, problem)
        if own != e.hash or own_hash(e.at, e.actor, e.action, e.target, e.detail) != e.own_hash:
            return AuditCheck(False, count, prev_hash, seq, "altered (its hash does not match)")
        if e.prev_hash != prev_hash:
            return AuditCheck(
                False, count, prev_hash, seq, "inserted or re-chained (link to previous broken)"
            )
        prev_hash, prev_seq = str(e.hash), seq
    if expect_head is not None and expect_head != prev_hash:
        return AuditCheck(False, count, prev_hash, prev_seq, "head differs from the one expected")
    now = now or dt.datetime.now(dt.UTC)
    waiting = 0
    unsealed = select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)
    for e in session.execute(unsealed).scalars():
        waiting += 1
        if own_hash(e.at, e.actor, e.action, e.target, e.detail) != e.own_hash:
            return AuditCheck(
                False,
                count,
                prev_hash,
                problem="altered or forged while unsealed (its own hash does not match)",
                unsealed=waiting,
                bad_id=e.id,
            )
        try:
            age = (now - dt.datetime.fromisoformat(e.at)).total_seconds()
        except (ValueError, TypeError):
            age = float("inf")
        if age > window:
            return AuditCheck(
                False,
                count,
                prev_hash,
                problem=(
                    f"unsealed for {age:.0f} s, longer than the {window:g} s tamper window "
                    "(is a sealer running?)"
                ),
                unsealed=waiting,
                bad_id=e.id,
            )
    return AuditCheck(True, count, prev_hash, unsealed=waiting)
