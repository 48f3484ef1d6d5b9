"""privacy: erased contacts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 07:00:00

`leadbot erase` and `retention_days` empty a lead's contact fields and say so on the row
(`lead_contacts.erased_at`, `erased_by`: request | retention), so cards can tell the partner
why the contact is gone and the retention pass never takes the same lead twice.
"""

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", bot.store.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_contacts", schema=None) as batch_op:
        batch_op.drop_column("erased_by")
        batch_op.drop_column("erased_at")
