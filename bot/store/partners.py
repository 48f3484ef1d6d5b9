"""Partner rows as routing facts, rotation state, and where each partner's messages go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.leads import DispatchStatus
from bot.domain.partners import PartnerFacts, PartnerStatus, Territory, TerritoryKind
from bot.store.tables import destinations, leads, partners, territories


@dataclass(frozen=True)
class Destination:
    id: int
    partner_id: int | None
    platform: str
    team: str
    chat_id: str


def _territory(m: Any) -> Territory:
    return Territory(
        country=m["country"],
        kind=TerritoryKind(m["kind"]),
        value=m["value"],
        range_from=m["range_from"],
        range_to=m["range_to"],
        lat=m["lat"],
        lon=m["lon"],
        radius_km=m["radius_km"],
    )


class PartnerRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def list_facts(self, *, country: str | None = None) -> list[PartnerFacts]:
        """Routing facts of every partner not retired (with territories in `country` if given)."""
        t_stmt = select(territories)
        if country is not None:
            t_stmt = t_stmt.where(territories.c.country == country)
        by_partner: dict[int, list[Territory]] = {}
        for row in await self.conn.execute(t_stmt):
            by_partner.setdefault(row.partner_id, []).append(_territory(row._mapping))
        open_stmt = (
            select(leads.c.partner_id, func.count())
            .where(leads.c.status == DispatchStatus.ACCEPTED)
            .group_by(leads.c.partner_id)
        )
        open_counts = {pid: n for pid, n in await self.conn.execute(open_stmt)}
        p_stmt = select(partners).where(partners.c.status != PartnerStatus.RETIRED)
        if country is not None:
            p_stmt = p_stmt.where(partners.c.id.in_(list(by_partner)))
        facts = []
        for row in await self.conn.execute(p_stmt.order_by(partners.c.id)):
            m = row._mapping
            facts.append(
                PartnerFacts(
                    id=m["id"],
                    slug=m["slug"],
                    name=m["name"],
                    status=PartnerStatus(m["status"]),
                    capacity=m["capacity"],
                    weight=m["weight"],
                    priority=m["priority"],
                    specialties=frozenset(m["specialties"]),
                    languages=frozenset(m["languages"]),
                    territories=tuple(by_partner.get(m["id"], ())),
                    open_leads=open_counts.get(m["id"], 0),
                    rr_current=m["rr_current"],
                    last_offered_at=m["last_offered_at"],
                    paused_until=m["paused_until"],
                )
            )
        return facts

    async def lock_rotation(self, partner_ids: list[int]) -> dict[int, float]:
        """Row-lock the candidates (in id order) and read their current rotation state."""
        stmt = (
            select(partners.c.id, partners.c.rr_current)
            .where(partners.c.id.in_(sorted(partner_ids)))
            .order_by(partners.c.id)
            .with_for_update()
        )
        return {pid: cur for pid, cur in await self.conn.execute(stmt)}

    async def save_rotation(
        self, currents: dict[int, float], *, offered: list[int], now: datetime
    ) -> None:
        if currents:
            stmt = (
                update(partners)
                .where(partners.c.id == bindparam("pid"))
                .values(rr_current=bindparam("cur"))
            )
            await self.conn.execute(stmt, [{"pid": p, "cur": c} for p, c in currents.items()])
        if offered:
            await self.conn.execute(
                update(partners).where(partners.c.id.in_(offered)).values(last_offered_at=now)
            )

    async def get_name(self, partner_id: int) -> str:
        stmt = select(partners.c.name).where(partners.c.id == partner_id)
        return (await self.conn.execute(stmt)).scalar() or f"partner #{partner_id}"

    async def get_id(self, *, slug: str) -> int | None:
        stmt = select(partners.c.id).where(partners.c.slug == slug)
        return (await self.conn.execute(stmt)).scalar()

    async def list_names(self) -> dict[int, tuple[str, str]]:
        """{id: (slug, name)} of every partner, retired ones too (for reports)."""
        stmt = select(partners.c.id, partners.c.slug, partners.c.name)
        return {r.id: (r.slug, r.name) for r in await self.conn.execute(stmt)}

    async def list_destinations(self, *, partner_id: int | None) -> list[Destination]:
        """Active chats of one partner, or of the managers when partner_id is None."""
        where = (
            destinations.c.partner_id.is_(None)
            if partner_id is None
            else destinations.c.partner_id == partner_id
        )
        stmt = select(destinations).where(where, destinations.c.active.is_(True))
        return [
            Destination(r.id, r.partner_id, r.platform, r.team, r.chat_id)
            for r in await self.conn.execute(stmt.order_by(destinations.c.id))
        ]

    async def get_destination(self, destination_id: int) -> Destination | None:
        row = (
            await self.conn.execute(select(destinations).where(destinations.c.id == destination_id))
        ).first()
        return (
            Destination(row.id, row.partner_id, row.platform, row.team, row.chat_id)
            if row
            else None
        )
