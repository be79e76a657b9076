"""The tamper-evident audit log: every write appends an entry chained to the previous by SHA-256.

Entry ``n`` stores ``hash_n = SHA-256(hash_{n-1} | n | at | actor | action | target | detail)``
(canonical JSON), with ``hash_0`` the SHA-256 of ``"saylau audit log"``. Sequence numbers are
given under a lock (PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE``) so that they have
no gaps: an edited entry breaks its own hash, a removed one leaves a gap in the numbers (or a
broken link when the tail is cut and re-chained by hand), an inserted one breaks the next link.
:func:`verify_chain` names the first entry where the chain breaks.

Cutting off the newest entries cannot be seen from the table alone; the head hash that
``saylau audit verify`` prints is meant to be written down or published from time to time, and
``expect_head`` checks it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEntry

__all__ = [
    "FLUSH_AFTER_COMMIT",
    "GENESIS",
    "AuditCheck",
    "append_audit",
    "entry_hash",
    "verify_chain",
]

#: The hash that the first entry links to.
GENESIS = hashlib.sha256(b"saylau audit log").hexdigest()
_LOCK_KEY = 7_311_972_001  # PostgreSQL advisory lock id of the audit chain
#: ``Session.info`` key: the transaction committed without waiting for its WAL flush.
FLUSH_AFTER_COMMIT = "saylau_flush_after_commit"


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, target: str, detail: str
) -> str:
    """The SHA-256 of one entry chained to ``prev_hash``.

    >>> len(entry_hash(GENESIS, 1, "2024-01-01T00:00:00+00:00", "admin", "init", "-", "{}"))
    64
    """
    payload = json.dumps(
        [prev_hash, seq, at, actor, action, target, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append_audit(
    session: Session, *, actor: str, action: str, target: str = "-", detail: Any = None
) -> int:
    """Append one entry in the caller's transaction; return its sequence number.

    Call it last in a write transaction: on PostgreSQL it takes the chain's advisory lock,
    held until the transaction ends, and lets that commit return before its WAL flush; commit
    through :meth:`saylau.store.db.Database.write`, which waits for the flush after the lock is
    released (a transaction committed elsewhere is durable only once a later one flushes).
    """
    # the caller's own rows go out before the lock: the lock is held until the transaction
    # ends and serialises every writer, so as little as possible happens while it is held
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # The commit releases the lock without waiting for its WAL to reach the disk
        # (``SET LOCAL synchronous_commit = off``, in the same round trip): the fsync would
        # otherwise be paid inside the lock, one writer at a time. Database.write waits for
        # the flush before the caller answers anyone, outside the lock, where the flushes of
        # concurrent writers are grouped (see :meth:`saylau.store.db.Database.write`).
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k), set_config('synchronous_commit', 'off', true)"),
            {"k": _LOCK_KEY},
        )
        session.info[FLUSH_AFTER_COMMIT] = True
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    body = json.dumps(detail if detail is not None else {}, ensure_ascii=False, sort_keys=True)
    target = target[:300]
    session.add(
        AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            target=target,
            detail=body,
            prev_hash=prev,
            hash=entry_hash(prev, seq, at, actor, action, target, body),
        )
    )
    session.flush()
    return seq


@dataclasses.dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify_chain` found.

    ``ok`` is true when every entry links to the one before and its hash is right;
    otherwise ``first_bad`` is the sequence number of the first entry where the chain breaks
    and ``problem`` says how (``altered``, ``removed before`` or ``inserted``).
    """

    ok: bool
    entries: int
    head: str
    first_bad: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        """One line for the terminal."""
        if self.ok:
            return f"audit log intact: {self.entries} entries, head {self.head}"
        return f"audit log broken at entry {self.first_bad}: {self.problem}"


def verify_chain(session: Session, *, expect_head: str | None = None) -> AuditCheck:
    """Recompute the whole chain and name the first entry that was altered, removed or inserted."""
    prev_hash, prev_seq, count = GENESIS, 0, 0
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        count += 1
        own = entry_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.target, e.detail)
        if e.seq != prev_seq + 1:
            if e.prev_hash == prev_hash and own == e.hash:
                problem = f"inserted (number {e.seq} after {prev_seq})"
            else:
                problem = f"removed: entries {prev_seq + 1}..{e.seq - 1} are missing"
            return AuditCheck(False, count, prev_hash, e.seq, problem)
        if own != e.hash:
            return AuditCheck(False, count, prev_hash, e.seq, "altered (its hash does not match)")
        if e.prev_hash != prev_hash:
            return AuditCheck(
                False, count, prev_hash, e.seq, "inserted or re-chained (link to previous broken)"
            )
        prev_hash, prev_seq = e.hash, e.seq
    if expect_head is not None and expect_head != prev_hash:
        return AuditCheck(False, count, prev_hash, prev_seq, "head differs from the one expected")
    return AuditCheck(True, count, prev_hash)
