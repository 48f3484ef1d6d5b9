"""Chats as the platform reports them: the bot removed from or added back to a chat, and the
members' private chats with the bot (the DM copies of their partner's offers)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.partners import DESTINATION_COLUMNS, Destination, to_destination
from bot.store.tables import chat_accounts, destinations, members


class OfferTargets(NamedTuple):
    """Where a partner's offer goes, and who its cards mention."""

    chats: list[Destination]  # its active declared chats, id order
    dms: list[Destination]  # the private chats to copy them to, id order
    mentions: list[tuple[str, str, str]]  # (name, platform, external id) of its linked members


def _offer_targets() -> Any:
    """A partner's declared chats and its members' private chats, then its linked members for
    the cards' mentions: one read (built once: intake is hot)."""
    partner_id: BindParameter[int] = bindparam("partner_id")
    linked = and_(
        chat_accounts.c.member_id == members.c.id,
        chat_accounts.c.platform == destinations.c.platform,
        chat_accounts.c.external_id == destinations.c.chat_id,
    )
    private = and_(
        destinations.c.platform == "telegram",
        chat_accounts.c.member_id.is_not(None),
        members.c.partner_id == partner_id,
        members.c.active.is_(True),
        func.coalesce(members.c.telegram_dm_choice, members.c.telegram_dm).is_(True),
    )
    chats = (
        select(
            literal(0).label("kind"),
            *DESTINATION_COLUMNS,
            cast(null(), String).label("name"),
        )
        .outerjoin(members, members.c.id == destinations.c.member_id)
        .outerjoin(chat_accounts, linked)
        .where(
            destinations.c.partner_id == partner_id,
            destinations.c.active.is_(True),
            destinations.c.broken_at.is_(None),
            or_(destinations.c.member_id.is_(None), private),
        )
    )
    mentioned = (
        select(
            literal(1),
            members.c.id,
            members.c.partner_id,
            chat_accounts.c.platform,
            cast(null(), String),
            chat_accounts.c.external_id,
            cast(null(), Integer),
            members.c.name,
        )
        .join(chat_accounts, chat_accounts.c.member_id == members.c.id)
        .where(members.c.partner_id == partner_id, members.c.active.is_(True))
    )
    both = union_all(chats, mentioned).subquery()
    return select(both).order_by(both.c.kind, both.c.id)


_OFFER_TARGETS = _offer_targets()


class ChatRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find(self, *, platform: str, chat_id: str) -> list[Destination]:
        """Every active destination in this chat (declared ones and private chats), id order."""
        stmt = (
            select(destinations)
            .where(
                destinations.c.platform == platform,
                destinations.c.chat_id == chat_id,
                destinations.c.active.is_(True),
            )
            .order_by(destinations.c.id)
        )
        return [to_destination(r) for r in await self.conn.execute(stmt)]

    async def list_broken(self, *, platform: str, chat_id: str) -> list[Destination]:
        """The active destinations in this chat that are marked broken."""
        stmt = select(destinations).where(
            destinations.c.platform == platform,
            destinations.c.chat_id == chat_id,
            destinations.c.active.is_(True),
            destinations.c.broken_at.is_not(None),
        )
        return [
            to_destination(r) for r in await self.conn.execute(stmt.order_by(destinations.c.id))
        ]

    async def clear_broken(self, destination_id: int) -> bool:
        """The chat works again; True if it was marked broken."""
        stmt = (
            update(destinations)
            .where(destinations.c.id == destination_id, destinations.c.broken_at.is_not(None))
            .values(broken_at=None, broken_reason=None)
            .returning(destinations.c.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def note_private(
        self, *, member_id: int, partner_id: int, platform: str, chat_id: str
    ) -> bool:
        """The member wrote to the bot in a private chat: DM copies may go there (again).
        Cheap when nothing changed (one read); True when a row was written."""
        stmt = select(destinations).where(
            destinations.c.platform == platform,
            destinations.c.team == "",
            destinations.c.chat_id == chat_id,
            destinations.c.partner_id == partner_id,
        )
        row = (await self.conn.execute(stmt)).first()
        if row is not None and row.member_id is None and row.active:
            return False  # the partner's own declared chat: its cards go there anyway
        if row is not None and row.member_id == member_id and row.active and not row.broken_at:
            return False
        values = dict(member_id=member_id, active=True, broken_at=None, broken_reason=None)
        if row is None:
            await self.conn.execute(
                destinations.insert().values(
                    partner_id=partner_id, platform=platform, team="", chat_id=chat_id, **values
                )
            )
        else:  # a chat once declared and dropped, or a blocked bot written to again
            await self.conn.execute(
                update(destinations).where(destinations.c.id == row.id).values(**values)
            )
        return True

    async def offer_targets(self, partner_id: int) -> OfferTargets:
        """Where the partner's offers go, and whom they mention, in one read: its active
        declared chats; the private chats to copy them to (a Telegram DM of an active member,
        still linked to that chat account, who wants DMs (their own choice, else
        leadbot.yaml's) and has not blocked the bot), each in id order; and its active members'
        chat accounts, in member order, as `MemberRepo.list_for_partner` gives them."""
        targets = OfferTargets([], [], [])
        for row in await self.conn.execute(_OFFER_TARGETS, {"partner_id": partner_id}):
            if row.kind == 1:
                targets.mentions.append((row.name, row.platform, row.chat_id))
            else:
                (targets.chats if row.member_id is None else targets.dms).append(
                    to_destination(row)
                )
        return targets
