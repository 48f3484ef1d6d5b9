"""lead_contacts: consent

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:00:00

Whether the person agreed to be contacted by a partner, as the intake said (`consent`): true,
false, or unknown (NULL: leads from before, or a CSV without the column). A partner who takes a
lead without consent sees no contact details.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_contacts", schema=None) as batch_op:
        batch_op.drop_column("consent")
