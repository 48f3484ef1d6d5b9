"""outbox: maybe sent

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 07:00:00

An outbox item whose try ended without knowing whether the platform got it (a timeout, a
connection lost mid-request) is marked, so the next try first asks the platform whether the
message arrived (Slack: by the item's key in the message metadata) instead of posting it twice.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("maybe_sent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("maybe_sent")
