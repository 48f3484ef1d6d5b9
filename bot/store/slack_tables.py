"""Tables of Slack multi-workspace installs (bot/store/installs.py)."""

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from bot.store.tables import metadata
from bot.store.types import UtcDateTime

# Slack workspaces that installed the app through `/slack/install` (multi-workspace install), one
# row per team. The bot token is a secret: never logged, never shown.
slack_installations = Table(
    "slack_installations",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("team_name", String(200)),
    Column("enterprise_id", String(32)),
    Column("app_id", String(32)),
    Column("bot_token", String(255), nullable=False),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("installer_user_id", String(32)),
    # whose install link was used (informational: a workspace may serve several partners)
    Column("partner_id", ForeignKey("partners.id", ondelete="SET NULL")),
    Column("installed_at", UtcDateTime, nullable=False),
)

# install links for a partner's own workspace (`leadbot partners invite SLUG --slack`), hashed
slack_install_invites = Table(
    "slack_install_invites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("team_id", String(32)),  # the workspace installed through it
)

# OAuth `state` values (hashed): one per visit of /slack/install, used once by the redirect
slack_oauth_states = Table(
    "slack_oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column(
        "invite_id",
        ForeignKey("slack_install_invites.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)
