"""destinations: index on partner_id

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00

Routing reads, with every candidate's state, whether the partner still has a declared chat that
is not marked broken (a partner without one is not offered the lead): that lookup, and the
reads of a partner's chats when its offer is queued, go by partner.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_destinations_partner", "destinations", ["partner_id"])


def downgrade() -> None:
    op.drop_index("ix_destinations_partner", table_name="destinations")
