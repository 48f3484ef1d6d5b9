"""webhook_outages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00

CRM webhook endpoints that are down now, one row per URL, shared by every instance: the
managers are told once per outage, not once per instance or per restart, and told when it is
over; /healthz counts them the same on every instance.
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_outages",
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("url_key"),
    )


def downgrade() -> None:
    op.drop_table("webhook_outages")
