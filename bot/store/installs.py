"""Chat workspaces that installed the app (Slack multi-workspace install), the install links
sent to partners and the OAuth states they lead to. Links and states are stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.slack_tables import slack_install_invites, slack_installations, slack_oauth_states


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Installation:
    """One workspace's install: its bot and token (`repr` leaves the token out)."""

    team_id: str
    bot_token: str = field(repr=False)
    team_name: str | None = None
    enterprise_id: str | None = None
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: str | None = None
    installer_user_id: str | None = None
    partner_id: int | None = None
    installed_at: datetime | None = None


@dataclass(frozen=True)
class Invite:
    id: int
    partner_id: int
    used: bool


class InstallRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def save(self, inst: Installation, *, now: datetime) -> None:
        """Store a workspace's installation, replacing an earlier one of the same team."""
        values = {
            "team_id": inst.team_id,
            "team_name": inst.team_name,
            "enterprise_id": inst.enterprise_id,
            "app_id": inst.app_id,
            "bot_token": inst.bot_token,
            "bot_id": inst.bot_id,
            "bot_user_id": inst.bot_user_id,
            "bot_scopes": inst.bot_scopes,
            "installer_user_id": inst.installer_user_id,
            "partner_id": inst.partner_id,
            "installed_at": now,
        }
        insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(slack_installations).values(**values)
        changed = {k: v for k, v in values.items() if k != "team_id"}
        await self.conn.execute(
            stmt.on_conflict_do_update(index_elements=[slack_installations.c.team_id], set_=changed)
        )

    async def get(self, team_id: str) -> Installation | None:
        stmt = select(slack_installations).where(slack_installations.c.team_id == team_id)
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            return None
        return Installation(**row._asdict())

    async def delete(self, team_id: str) -> bool:
        """Forget a workspace's installation (uninstalled, or its token revoked)."""
        stmt = delete(slack_installations).where(slack_installations.c.team_id == team_id)
        return bool((await self.conn.execute(stmt)).rowcount)

    async def create_invite(self, partner_id: int, *, now: datetime, valid: timedelta) -> str:
        """A new install link token for a partner; only its hash is kept."""
        token = secrets.token_urlsafe(24)
        await self.conn.execute(
            slack_install_invites.insert().values(
                partner_id=partner_id,
                token_hash=_hash(token),
                created_at=now,
                expires_at=now + valid,
            )
        )
        return token

    async def find_invite(self, token: str, *, now: datetime) -> Invite | None:
        """The invite behind an install link, if it is still valid (unused, not expired)."""
        t = slack_install_invites.c
        stmt = select(t.id, t.partner_id).where(
            t.token_hash == _hash(token), t.used_at.is_(None), t.expires_at > now
        )
        row = (await self.conn.execute(stmt)).first()
        return Invite(row.id, row.partner_id, used=False) if row else None

    async def issue_state(self, invite_id: int, *, now: datetime, valid: timedelta) -> str:
        """A one-time OAuth state bound to an invite (old, expired states are cleared)."""
        expired = delete(slack_oauth_states).where(slack_oauth_states.c.expires_at < now)
        await self.conn.execute(expired)
        state = secrets.token_urlsafe(24)
        await self.conn.execute(
            slack_oauth_states.insert().values(
                state_hash=_hash(state), invite_id=invite_id, expires_at=now + valid
            )
        )
        return state

    async def consume_state(self, state: str, *, now: datetime) -> bool:
        """Use a state once; False when unknown, used or expired, or its invite is used up."""
        s, i = slack_oauth_states.c, slack_install_invites.c
        live_invite = select(i.id).where(
            i.id == s.invite_id, i.used_at.is_(None), i.expires_at > now
        )
        stmt = (
            update(slack_oauth_states)
            .where(
                s.state_hash == _hash(state),
                s.used_at.is_(None),
                s.expires_at > now,
                live_invite.exists(),
            )
            .values(used_at=now)
            .returning(s.invite_id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def invite_of_state(self, state: str) -> Invite | None:
        """The invite a (consumed) state was issued for."""
        s, i = slack_oauth_states.c, slack_install_invites.c
        stmt = (
            select(i.id, i.partner_id, i.used_at)
            .join(slack_oauth_states, s.invite_id == i.id)
            .where(s.state_hash == _hash(state))
        )
        row = (await self.conn.execute(stmt)).first()
        return Invite(row.id, row.partner_id, used=row.used_at is not None) if row else None

    async def use_invite(self, invite_id: int, *, team_id: str, now: datetime) -> bool:
        """Mark the invite used by `team_id`; False if it already was."""
        t = slack_install_invites.c
        stmt = (
            update(slack_install_invites)
            .where(t.id == invite_id, t.used_at.is_(None))
            .values(used_at=now, team_id=team_id)
            .returning(t.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None
