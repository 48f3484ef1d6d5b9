"""telegram questions, direct messages to reps

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 07:00:00

The questions the Telegram bot asks by reply (an amount for Opportunity/Won, a reason), kept in
the database with an expiry, so any instance can take the reply, also after a restart.

Direct messages with new offers to each partner rep who has started the bot: their private chat
is a destination of the partner tied to the member (`destinations.member_id`), broken once they
block the bot; whether they want them is leadbot.yaml's `telegram_dm` (`members.telegram_dm`),
overridden by their own `/dm on|off` (`members.telegram_dm_choice`).
"""

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_questions",
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("asked", sa.String(length=64), nullable=False),
        sa.Column("asked_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_telegram_questions")),
    )
    op.create_index(
        "ix_telegram_questions_expires", "telegram_questions", ["expires_at"], unique=False
    )
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_destinations_member_id_members"),
            "members",
            ["member_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telegram_dm", sa.Boolean(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("telegram_dm_choice", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("telegram_dm_choice")
        batch_op.drop_column("telegram_dm")
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_destinations_member_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("member_id")
    op.drop_index("ix_telegram_questions_expires", table_name="telegram_questions")
    op.drop_table("telegram_questions")
