"""Members and their linked chat identities."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.actors import Actor, Role
from bot.store.tables import chat_accounts, members


class MemberRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find_actor(self, *, platform: str, external_id: str, team: str = "") -> Actor | None:
        """The active member behind a chat identity, as an Actor; None when not linked."""
        stmt = (
            select(members)
            .join(chat_accounts, chat_accounts.c.member_id == members.c.id)
            .where(
                chat_accounts.c.platform == platform,
                chat_accounts.c.team == team,
                chat_accounts.c.external_id == external_id,
                members.c.active.is_(True),
            )
        )
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            return None
        return Actor(
            name=row.name, role=Role(row.role), member_id=row.id, partner_id=row.partner_id
        )

    async def list_for_partner(self, partner_id: int) -> list[tuple[str, str, str]]:
        """(name, platform, external id) of a partner's linked members, for mentions on cards."""
        stmt = (
            select(members.c.name, chat_accounts.c.platform, chat_accounts.c.external_id)
            .join(chat_accounts, chat_accounts.c.member_id == members.c.id)
            .where(members.c.partner_id == partner_id, members.c.active.is_(True))
            .order_by(members.c.id)
        )
        return [(r.name, r.platform, r.external_id) for r in await self.conn.execute(stmt)]
