"""field app: indexes to refuse a replayed key of another person and a stale version

Revision ID: 0003_fieldapp
Revises: 0002_sms
Create Date: 2026-12-06 16:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0003_fieldapp"
down_revision = "0002_sms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_idem_key", ["idem_key"], unique=False)
        batch_op.create_index("ix_submission_replaces", ["replaces"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_replaces")
        batch_op.drop_index("ix_submission_idem_key")
