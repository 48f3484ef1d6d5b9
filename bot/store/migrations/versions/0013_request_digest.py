"""leads: request_digest

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:30:00

A SHA-256 of the request that carried a lead named by an `Idempotency-Key` header: a repeat of
the key with a different request is refused (422) instead of answered with the first lead, which
would have lost the second one silently. NULL for every other lead, and for leads from before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("request_digest")
