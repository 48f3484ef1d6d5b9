"""slack installations

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 07:00:00

Multi-workspace install: each Slack workspace that installed the app through `/slack/install`
(its bot token, used for the cards of partners in that workspace), the install links sent to
partners (`leadbot partners invite SLUG --slack`, stored hashed) and the OAuth states they lead
to (hashed, used once).
"""

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("team_name", sa.String(length=200), nullable=True),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("app_id", sa.String(length=32), nullable=True),
        sa.Column("bot_token", sa.String(length=255), nullable=False),
        sa.Column("bot_id", sa.String(length=32), nullable=True),
        sa.Column("bot_user_id", sa.String(length=32), nullable=True),
        sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
        sa.Column("installer_user_id", sa.String(length=32), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("installed_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_slack_installations_partner_id_partners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_slack_installations")),
    )
    op.create_table(
        "slack_install_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.Column("used_at", bot.store.types.UtcDateTime(), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_slack_install_invites_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_install_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_slack_install_invites_token_hash")),
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", bot.store.types.UtcDateTime(), nullable=False),
        sa.Column("used_at", bot.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["slack_install_invites.id"],
            name=op.f("fk_slack_oauth_states_invite_id_slack_install_invites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_slack_oauth_states")),
    )


def downgrade() -> None:
    op.drop_table("slack_oauth_states")
    op.drop_table("slack_install_invites")
    op.drop_table("slack_installations")
