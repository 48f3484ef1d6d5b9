"""Members and their linked chat identities."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.actors import Actor, Role
from bot.store.partners import WORKING_CHAT
from bot.store.tables import chat_accounts, destinations, link_codes, members, partners

_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out loud or typed


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


# built once: every new card asks it
_MENTIONS = (
    select(members.c.name, chat_accounts.c.platform, chat_accounts.c.external_id)
    .join(chat_accounts, chat_accounts.c.member_id == members.c.id)
    .where(members.c.partner_id == bindparam("partner_id"), members.c.active.is_(True))
    .order_by(members.c.id)
)


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
        rows = await self.conn.execute(_MENTIONS, {"partner_id": partner_id})
        return [(name, platform, external_id) for name, platform, external_id in rows]

    async def list_admins_in_chats(
        self, platform: str, *, user: str | None = None
    ) -> list[tuple[str, str]]:
        """(chat id, user id) of every linked partner admin (or of the account `user` alone, if
        an admin's) in each of its partner's declared chats on `platform`: where the admin's
        own command menu goes."""
        stmt = (
            select(destinations.c.chat_id, chat_accounts.c.external_id)
            .join(members, members.c.partner_id == destinations.c.partner_id)
            .join(chat_accounts, chat_accounts.c.member_id == members.c.id)
            .where(
                members.c.role == Role.PARTNER_ADMIN,
                members.c.active.is_(True),
                chat_accounts.c.platform == platform,
                destinations.c.platform == platform,
                *WORKING_CHAT,
                *([chat_accounts.c.external_id == user] if user is not None else []),
            )
            .order_by(destinations.c.id, members.c.id)
        )
        return [(r.chat_id, r.external_id) for r in await self.conn.execute(stmt)]

    async def belongs(self, member_id: int, *, partner_id: int) -> bool:
        """Whether the member is (still) an active member of that partner."""
        stmt = select(members.c.id).where(
            members.c.id == member_id,
            members.c.partner_id == partner_id,
            members.c.active.is_(True),
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def find(self, name: str, *, partner_id: int | None) -> int | None:
        """The active member called `name` (of a partner, or a manager when partner_id is None)."""
        owner = (
            members.c.partner_id.is_(None)
            if partner_id is None
            else members.c.partner_id == partner_id
        )
        stmt = select(members.c.id).where(owner, members.c.name == name, members.c.active.is_(True))
        return (await self.conn.execute(stmt)).scalar()

    async def list_owners(self, name: str) -> list[str | None]:
        """Whose active members are called `name`: partner slugs, None for the managers."""
        stmt = (
            select(partners.c.slug)
            .select_from(members.outerjoin(partners, members.c.partner_id == partners.c.id))
            .where(members.c.name == name, members.c.active.is_(True))
            .order_by(partners.c.slug)
        )
        return list((await self.conn.execute(stmt)).scalars())

    async def create_code(self, member_id: int, *, now: datetime, valid: timedelta) -> str:
        """A one-time link code for the member; only its hash is stored."""
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        await self.conn.execute(
            link_codes.insert().values(
                member_id=member_id,
                code_hash=hash_code(code),
                created_at=now,
                expires_at=now + valid,
            )
        )
        return code

    async def redeem(self, code: str, *, now: datetime) -> int | None:
        """Use a code once: the member it links, or None when unknown, used or expired."""
        stmt = (
            update(link_codes)
            .where(
                link_codes.c.code_hash == hash_code(code),
                link_codes.c.used_at.is_(None),
                link_codes.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(link_codes.c.member_id)
        )
        return (await self.conn.execute(stmt)).scalar()

    async def identity_owner(self, *, platform: str, team: str, external_id: str) -> int | None:
        stmt = select(chat_accounts.c.member_id).where(
            chat_accounts.c.platform == platform,
            chat_accounts.c.team == team,
            chat_accounts.c.external_id == external_id,
        )
        return (await self.conn.execute(stmt)).scalar()

    async def link(
        self, member_id: int, *, platform: str, team: str, external_id: str, now: datetime
    ) -> None:
        await self.conn.execute(
            chat_accounts.insert().values(
                member_id=member_id,
                platform=platform,
                team=team,
                external_id=external_id,
                linked_at=now,
            )
        )

    async def name_of(self, member_id: int) -> str:
        stmt = select(members.c.name).where(members.c.id == member_id)
        return (await self.conn.execute(stmt)).scalar() or f"member #{member_id}"

    async def set_dm_choice(self, member_id: int, *, wanted: bool) -> None:
        """The member's own choice about Telegram DMs (wins over leadbot.yaml's telegram_dm)."""
        await self.conn.execute(
            update(members).where(members.c.id == member_id).values(telegram_dm_choice=wanted)
        )

    async def get_dm_choice(self, member_id: int) -> tuple[bool, bool | None]:
        """(leadbot.yaml's telegram_dm, the member's own choice or None)."""
        stmt = select(members.c.telegram_dm, members.c.telegram_dm_choice).where(
            members.c.id == member_id
        )
        row = (await self.conn.execute(stmt)).first()
        return (bool(row.telegram_dm), row.telegram_dm_choice) if row else (True, None)
