"""Partner rows as routing facts, rotation state, and where each partner's messages go."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Float, Integer, TextClause, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.leads import DispatchStatus
from bot.domain.partners import PartnerStatus
from bot.routing.directory import local_midnight
from bot.store.tables import destinations, leads, offers, partners
from bot.store.types import UtcDateTime


@dataclass(frozen=True)
class Destination:
    id: int
    partner_id: int | None
    platform: str
    team: str
    chat_id: str
    member_id: int | None = None  # set: a member's private chat (DM copies), not a declared chat
    active: bool = True  # false: leadbot.yaml no longer has it (cards there are edited only)


# a chat declared in leadbot.yaml, still in it and not marked broken: where cards can go
WORKING_CHAT = (
    destinations.c.active.is_(True),
    destinations.c.broken_at.is_(None),
    destinations.c.member_id.is_(None),
)

# the columns `to_destination` reads
DESTINATION_COLUMNS = (
    destinations.c.id,
    destinations.c.partner_id,
    destinations.c.platform,
    destinations.c.team,
    destinations.c.chat_id,
    destinations.c.member_id,
)


def to_destination(row: Any) -> Destination:
    active = row._mapping.get("active", True)  # the hot reads take active chats only
    return Destination(
        row.id, row.partner_id, row.platform, row.team, row.chat_id, row.member_id, active
    )


def _state(*, lock: bool) -> Any:
    """What changes between decisions, for a list of partners (built once: routing is hot)."""
    open_leads = (
        select(func.count())
        .where(leads.c.partner_id == partners.c.id, leads.c.status == DispatchStatus.ACCEPTED)
        .scalar_subquery()
    )
    # a working chat: as offering counts the chats an offer is shown in
    reachable = (
        select(destinations.c.id)
        .where(destinations.c.partner_id == partners.c.id, *WORKING_CHAT)
        .exists()
    )
    stmt = (
        select(
            partners.c.id,
            partners.c.status,
            partners.c.capacity,
            partners.c.paused_until,
            partners.c.rr_current,
            partners.c.last_offered_at,
            open_leads.label("open_leads"),
            reachable.label("reachable"),
        )
        .where(
            partners.c.id.in_(bindparam("ids", expanding=True)),
            partners.c.status != PartnerStatus.RETIRED,
        )
        .order_by(partners.c.id)
    )
    return stmt.with_for_update(of=partners, key_share=True) if lock else stmt


_READ_STATE, _LOCK_STATE = _state(lock=False), _state(lock=True)

# the rotation of every candidate of a decision, in one statement (it was one per partner)
_NOW = bindparam("now", type_=UtcDateTime())
_ROTATION = {
    "postgresql": text(
        "UPDATE partners SET rr_current = coalesce(u.cur, partners.rr_current),"
        " last_offered_at = CASE WHEN u.offered THEN :now ELSE partners.last_offered_at END"
        " FROM unnest(:ids, :curs, :offered) AS u(id, cur, offered) WHERE partners.id = u.id"
    ).bindparams(
        _NOW,
        bindparam("ids", type_=postgresql.ARRAY(Integer)),
        bindparam("curs", type_=postgresql.ARRAY(Float)),
        bindparam("offered", type_=postgresql.ARRAY(Boolean)),
    ),
    "sqlite": text(
        "UPDATE partners SET"
        " rr_current = coalesce(json_extract(j.value, '$[1]'), partners.rr_current),"
        " last_offered_at = CASE WHEN json_extract(j.value, '$[2]')"
        " THEN :now ELSE partners.last_offered_at END"
        " FROM json_each(:rows) AS j WHERE partners.id = json_extract(j.value, '$[0]')"
    ).bindparams(_NOW),
}


def rotation_statement() -> TextClause:
    """PostgreSQL's rotation UPDATE, for a statement that does more (bot/store/rounds.py)."""
    return _ROTATION["postgresql"]


def rotation_values(
    dialect: str, currents: dict[int, float], *, offered: list[int], now: datetime
) -> dict[str, Any]:
    """The rotation statement's parameters: each partner's new current weight, if it has one,
    and whether it was offered the lead (its `last_offered_at` becomes `now`)."""
    ids = sorted({*currents, *offered})
    picked = set(offered)
    if dialect == "postgresql":
        return {
            "now": now,
            "ids": ids,
            "curs": [currents.get(pid) for pid in ids],
            "offered": [pid in picked for pid in ids],
        }
    rows = [[pid, currents.get(pid), pid in picked] for pid in ids]
    return {"now": now, "rows": json.dumps(rows)}


class PartnerRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def ids_by_slug(self) -> dict[str, int]:
        """Slug -> id of every partner not retired."""
        stmt = select(partners.c.slug, partners.c.id).where(
            partners.c.status != PartnerStatus.RETIRED
        )
        return {slug: pid for slug, pid in await self.conn.execute(stmt)}

    async def load_state(
        self, ids: list[int], *, now: datetime, daily_caps: dict[int, str], lock: bool = False
    ) -> dict[int, dict[str, Any]]:
        """What changes between decisions, for the given partners (retired ones left out).

        `daily_caps` maps partners with a daily cap to their time zone, to count today's offers.
        With `lock`, the rows are locked in id order until commit, so that concurrent decisions
        over the same partners take turns and the rotation stays fair across instances.
        """
        if not ids:
            return {}
        rows = await self.conn.execute(_LOCK_STATE if lock else _READ_STATE, {"ids": ids})
        state = {
            row.id: {
                "status": PartnerStatus(row.status),
                "capacity": row.capacity,
                "paused_until": row.paused_until,
                "rr_current": row.rr_current,
                "last_offered_at": row.last_offered_at,
                "open_leads": row.open_leads,
                "offers_today": 0,
                "reachable": bool(row.reachable),  # SQLite answers EXISTS with 0 or 1
            }
            for row in rows
        }
        capped = [pid for pid in daily_caps if pid in state]
        if capped:
            recent = select(offers.c.partner_id, offers.c.created_at).where(
                offers.c.partner_id.in_(capped), offers.c.created_at >= now - timedelta(days=2)
            )
            for pid, created_at in await self.conn.execute(recent):
                if created_at >= local_midnight(daily_caps[pid], now):
                    state[pid]["offers_today"] += 1
        return state

    async def open_counts(self) -> dict[int, int]:
        """Accepted, not yet closed leads per partner."""
        stmt = (
            select(leads.c.partner_id, func.count())
            .where(leads.c.status == DispatchStatus.ACCEPTED)
            .group_by(leads.c.partner_id)
        )
        return {pid: n for pid, n in await self.conn.execute(stmt)}

    async def capacity_in_use(self, partner_id: int) -> tuple[int, int]:
        """(open accepted leads, capacity) of one partner, its row locked first: two Accepts for
        its last place (on two leads) take turns, so the second counts the first's lead."""
        capacity = (
            await self.conn.execute(
                select(partners.c.capacity).where(partners.c.id == partner_id).with_for_update()
            )
        ).scalar_one()
        used = (
            await self.conn.execute(
                select(func.count())
                .select_from(leads)
                .where(leads.c.partner_id == partner_id, leads.c.status == DispatchStatus.ACCEPTED)
            )
        ).scalar_one()
        return int(used), int(capacity)

    async def get_by_slug(self, slug: str) -> tuple[int, str, PartnerStatus] | None:
        """(id, name, status) of the partner with this slug."""
        stmt = select(partners.c.id, partners.c.name, partners.c.status).where(
            partners.c.slug == slug
        )
        row = (await self.conn.execute(stmt)).first()
        return (row.id, row.name, PartnerStatus(row.status)) if row else None

    async def save_rotation(
        self, currents: dict[int, float], *, offered: list[int], now: datetime
    ) -> None:
        """Store the new rotation state, and when the chosen partners were offered a lead."""
        if not currents and not offered:
            return
        dialect = self.conn.dialect.name
        params = rotation_values(dialect, currents, offered=offered, now=now)
        await self.conn.execute(_ROTATION[dialect], params)

    async def update(self, partner_id: int, **values: Any) -> None:
        """Change a partner's availability columns (status, paused_until, capacity)."""
        await self.conn.execute(
            update(partners).where(partners.c.id == partner_id).values(**values)
        )

    async def get_name(self, partner_id: int) -> str:
        stmt = select(partners.c.name).where(partners.c.id == partner_id)
        return (await self.conn.execute(stmt)).scalar() or f"partner #{partner_id}"

    async def list_names(self, ids: Iterable[int] | None = None) -> dict[int, tuple[str, str]]:
        """{id: (slug, name)} of every partner, retired ones too (for reports); or of `ids`."""
        stmt = select(partners.c.id, partners.c.slug, partners.c.name)
        if ids is not None:
            stmt = stmt.where(partners.c.id.in_(list(ids)))
        return {r.id: (r.slug, r.name) for r in await self.conn.execute(stmt)}

    async def list_destinations(self, *, partner_id: int | None) -> list[Destination]:
        """Active declared chats of one partner, or of the managers when partner_id is None
        (members' private chats are not among them: see bot/store/chats.py)."""
        where = (
            destinations.c.partner_id.is_(None)
            if partner_id is None
            else destinations.c.partner_id == partner_id
        )
        stmt = select(destinations).where(where, *WORKING_CHAT)
        return [
            to_destination(r) for r in await self.conn.execute(stmt.order_by(destinations.c.id))
        ]

    async def mark_broken(self, destination_id: int, *, reason: str, now: datetime) -> bool:
        """The chat is gone for the bot: nothing goes there until the next `config apply`.
        True the first time (so the managers are told once)."""
        stmt = (
            update(destinations)
            .where(destinations.c.id == destination_id, destinations.c.broken_at.is_(None))
            .values(broken_at=now, broken_reason=reason[:200])
            .returning(destinations.c.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def list_broken(self) -> list[tuple[str, str, str, str]]:
        """(partner slug or 'managers', platform, chat id, reason) of the declared chats that
        are marked broken."""
        stmt = (
            select(
                partners.c.slug,
                destinations.c.platform,
                destinations.c.chat_id,
                destinations.c.broken_reason,
            )
            .select_from(
                destinations.outerjoin(partners, partners.c.id == destinations.c.partner_id)
            )
            .where(
                destinations.c.active.is_(True),
                destinations.c.broken_at.is_not(None),
                destinations.c.member_id.is_(None),  # a rep who blocked the bot is no outage
            )
            .order_by(destinations.c.id)
        )
        return [
            (slug or "managers", platform, chat, reason or "")
            for slug, platform, chat, reason in await self.conn.execute(stmt)
        ]

    async def get_destination(self, destination_id: int) -> Destination | None:
        row = (
            await self.conn.execute(select(destinations).where(destinations.c.id == destination_id))
        ).first()
        return to_destination(row) if row else None

    async def mark_team_broken(
        self, *, platform: str, teams: set[str], reason: str, now: datetime
    ) -> list[Destination]:
        """A whole workspace is gone for the bot (token revoked, app uninstalled): every
        declared chat in it is marked broken. Returns those newly marked (tell them once)."""
        stmt = (
            update(destinations)
            .where(
                destinations.c.platform == platform,
                destinations.c.team.in_(sorted(teams)),
                destinations.c.active.is_(True),
                destinations.c.broken_at.is_(None),
            )
            .values(broken_at=now, broken_reason=reason[:200])
            .returning(*DESTINATION_COLUMNS)
        )
        rows = await self.conn.execute(stmt)
        found = [to_destination(r) for r in rows]
        return sorted(found, key=lambda d: d.id)

    async def clear_team_broken(self, *, platform: str, team: str) -> int:
        """The workspace is back (installed again): its chats may get messages again."""
        stmt = (
            update(destinations)
            .where(
                destinations.c.platform == platform,
                destinations.c.team == team,
                destinations.c.broken_at.is_not(None),
            )
            .values(broken_at=None, broken_reason=None)
        )
        return int((await self.conn.execute(stmt)).rowcount or 0)

    async def declared_teams(self, partner_id: int, *, platform: str) -> set[str]:
        """The workspaces a partner's declared chats on `platform` are in ('' = ours)."""
        stmt = select(destinations.c.team).where(
            destinations.c.partner_id == partner_id,
            destinations.c.platform == platform,
            destinations.c.active.is_(True),
        )
        return {team for (team,) in await self.conn.execute(stmt)}
