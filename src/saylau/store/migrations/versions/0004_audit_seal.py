"""audit log sealed in batches: entries appended without a lock, chained by a sealer

``audit_log`` gets an ``id`` (order of insertion) as its key; ``seq``, ``prev_hash`` and
``hash`` (the chain) become empty until the sealer fills them; ``own_hash`` is each entry's
SHA-256 of its own content. Existing entries keep their sequence numbers and chain hashes
(the chain formula is unchanged) and get their own hash. Going back down seals what is still
unsealed first, so that the old table (every entry chained) holds every entry.

The hash functions are written out here rather than imported, so that this migration keeps
doing what it did when :mod:`saylau.store.audit` changes.

Revision ID: 0004_audit_seal
Revises: 0003_fieldapp
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0004_audit_seal"
down_revision = "0003_fieldapp"
branch_labels = None
depends_on = None

_GENESIS = hashlib.sha256(b"saylau audit log").hexdigest()


def _sha(items: list[object]) -> str:
    payload = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _own(at: str, actor: str, action: str, target: str, detail: str) -> str:
    return _sha(["saylau audit entry", at, actor, action, target, detail])


def _rename_pkey(old: str, new: str) -> None:
    # PostgreSQL keeps an index's name when its table is renamed: free the name first
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")


def upgrade() -> None:
    op.rename_table("audit_log", "audit_log_0003")
    _rename_pkey("audit_log_pkey", "audit_log_0003_pkey")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("own_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
    )
    bind = op.get_bind()
    old = bind.execute(
        sa.text(
            "SELECT seq, at, actor, action, target, detail, prev_hash, hash "
            "FROM audit_log_0003 ORDER BY seq"
        )
    ).all()
    if old:
        bind.execute(
            sa.text(
                "INSERT INTO audit_log "
                "(id, seq, at, actor, action, target, detail, own_hash, prev_hash, hash) "
                "VALUES (:s, :s, :at, :actor, :action, :target, :detail, :own, :p, :h)"
            ),
            [
                {
                    "s": r.seq,
                    "at": r.at,
                    "actor": r.actor,
                    "action": r.action,
                    "target": r.target,
                    "detail": r.detail,
                    "own": _own(r.at, r.actor, r.action, r.target, r.detail),
                    "p": r.prev_hash,
                    "h": r.hash,
                }
                for r in old
            ],
        )
        if bind.dialect.name == "postgresql":
            op.execute(
                "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), "
                "(SELECT max(id) FROM audit_log))"
            )
    op.drop_table("audit_log_0003")
    op.create_index("ix_audit_log_seq", "audit_log", ["seq"], unique=True)


def downgrade() -> None:
    bind = op.get_bind()
    # seal what is unsealed (the old table chains every entry), in the sealer's order
    head = bind.execute(
        sa.text("SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
    ).first()
    seq, prev = (0, _GENESIS) if head is None else (int(head[0]), str(head[1]))
    pending = bind.execute(
        sa.text(
            "SELECT id, at, actor, action, target, detail FROM audit_log "
            "WHERE seq IS NULL ORDER BY id"
        )
    ).all()
    for r in pending:
        seq += 1
        h = _sha([prev, seq, r.at, r.actor, r.action, r.target, r.detail])
        bind.execute(
            sa.text("UPDATE audit_log SET seq = :s, prev_hash = :p, hash = :h WHERE id = :i"),
            {"s": seq, "p": prev, "h": h, "i": r.id},
        )
        prev = h
    op.drop_index("ix_audit_log_seq", table_name="audit_log")
    op.rename_table("audit_log", "audit_log_0004")
    _rename_pkey("audit_log_pkey", "audit_log_0004_pkey")
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash) "
        "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log_0004"
    )
    op.drop_table("audit_log_0004")
