"""funnel milestones

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 05:00:00

Adds when each lead first reached contacted, qualified and opportunity, and an index for
period queries. Leads already past a step get their last stage change as an approximation.
"""

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STEPS = {
    "contacted_at": ("contacted", "qualified", "opportunity", "won"),
    "qualified_at": ("qualified", "opportunity", "won"),
    "opportunity_at": ("opportunity", "won"),
}


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for column in STEPS:
            batch_op.add_column(sa.Column(column, bot.store.types.UtcDateTime(), nullable=True))
        batch_op.create_index("ix_leads_received_partner", ["received_at", "partner_id"])
    leads = sa.table(
        "leads",
        sa.column("stage", sa.String),
        sa.column("stage_changed_at", sa.DateTime),
        *(sa.column(c, sa.DateTime) for c in STEPS),
    )
    for column, stages in STEPS.items():
        op.execute(
            leads.update()
            .where(leads.c.stage.in_(stages))
            .values({column: leads.c.stage_changed_at})
        )


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_received_partner")
        for column in reversed(list(STEPS)):
            batch_op.drop_column(column)
