"""funnel rollup

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 06:30:00

The funnel per day received, partner and source (counts, reasons, time histograms), so a
report over months sums a few thousand rows. Empty at first: the next report builds it from
the events (bot/reports/rollup.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COUNTS = (
    "offered",
    "accepted",
    "declined",
    "expired",
    "undeliverable",
    "withdrawn",
    "assigned",
    "leads",
    "contacted",
    "qualified",
    "opportunity",
    "won",
    "lost",
    "open",
    "stale",
    "unassigned",
)


def upgrade() -> None:
    op.create_table(
        "funnel_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "partner_id", "source", name=op.f("pk_funnel_days")),
    )
    op.create_table(
        "funnel_reasons",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "partner_id", "source", "kind", "reason", name=op.f("pk_funnel_reasons")
        ),
    )
    op.create_table(
        "funnel_times",
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "metric", "partner_id", "seconds", "day", name=op.f("pk_funnel_times")
        ),
    )
    op.create_table(
        "funnel_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_rollup_state")),
    )


def downgrade() -> None:
    op.drop_table("funnel_rollup_state")
    op.drop_table("funnel_times")
    op.drop_table("funnel_reasons")
    op.drop_table("funnel_days")
