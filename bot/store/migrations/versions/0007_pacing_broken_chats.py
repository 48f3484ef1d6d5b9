"""send pacing, broken chats

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 07:00:00

When the next message may go to each chat, shared by every instance (Slack takes about one
message a second per channel, Telegram one a second per chat and 20 a minute per group). It
replaces the never-used destinations.next_send_at. Chats the platform says are gone for the bot
are marked broken until the next `config apply`.
"""

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_pacing",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_pacing")),
    )
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_column("next_send_at")
        batch_op.add_column(sa.Column("broken_at", bot.store.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("broken_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_column("broken_reason")
        batch_op.drop_column("broken_at")
        batch_op.add_column(sa.Column("next_send_at", bot.store.types.UtcDateTime(), nullable=True))
    op.drop_table("send_pacing")
