"""link codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 05:00:00

One-time codes that link a chat account to a member (`leadbot members invite`, then `link CODE`
in the chat), and a mark on accounts linked that way so `config apply` keeps them.
"""

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.Column("used_at", bot.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_link_codes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_link_codes_code_hash")),
    )
    with op.batch_alter_table("chat_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("linked_at", bot.store.types.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_accounts", schema=None) as batch_op:
        batch_op.drop_column("linked_at")
    op.drop_table("link_codes")
