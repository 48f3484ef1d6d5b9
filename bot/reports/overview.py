"""What is waiting (`open`) and how partners stand (`partners`), straight from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferStatus
from bot.domain.partners import PartnerStatus
from bot.store.tables import leads, offers, partners
from bot.store.uow import UnitOfWork


@dataclass(frozen=True)
class Waiting:
    lead: str
    since: datetime
    what: str  # "offered to acme" | "unassigned"
    postcode: str


async def waiting(uow: UnitOfWork, *, partner_id: int | None, limit: int = 30) -> list[Waiting]:
    """Pending offers (one partner's, or all), then unassigned leads for managers; oldest first."""
    stmt = (
        select(
            leads.c.public_id,
            leads.c.country,
            leads.c.postcode,
            offers.c.created_at,
            partners.c.slug,
        )
        .join(offers, offers.c.lead_id == leads.c.id)
        .join(partners, partners.c.id == offers.c.partner_id)
        .where(offers.c.status == OfferStatus.PENDING)
        .order_by(offers.c.created_at)
        .limit(limit)
    )
    if partner_id is not None:
        stmt = stmt.where(offers.c.partner_id == partner_id)
    found = [
        Waiting(r.public_id, r.created_at, f"offered to {r.slug}", f"{r.country}-{r.postcode}")
        for r in await uow.execute(stmt)
    ]
    if partner_id is None:
        unassigned = (
            select(leads.c.public_id, leads.c.country, leads.c.postcode, leads.c.received_at)
            .where(leads.c.status == DispatchStatus.UNASSIGNED)
            .order_by(leads.c.received_at)
            .limit(limit)
        )
        found += [
            Waiting(r.public_id, r.received_at, "unassigned", f"{r.country}-{r.postcode}")
            for r in await uow.execute(unassigned)
        ]
    return sorted(found, key=lambda w: w.since)[:limit]


async def count_waiting(uow: UnitOfWork, *, partner_id: int | None) -> int:
    """How many items `waiting` has in all, however many it lists."""
    pending = select(func.count()).select_from(offers).where(offers.c.status == OfferStatus.PENDING)
    if partner_id is not None:
        pending = pending.where(offers.c.partner_id == partner_id)
    total = int((await uow.execute(pending)).scalar() or 0)
    if partner_id is None:
        unassigned = select(func.count()).where(leads.c.status == DispatchStatus.UNASSIGNED)
        total += int((await uow.execute(unassigned)).scalar() or 0)
    return total


@dataclass(frozen=True)
class Standing:
    slug: str
    name: str
    status: str
    open_leads: int
    capacity: int


async def standings(uow: UnitOfWork, *, now: datetime) -> list[Standing]:
    """Every partner not retired: availability and capacity in use."""
    used = await uow.partners.open_counts()
    stmt = (
        select(
            partners.c.id,
            partners.c.slug,
            partners.c.name,
            partners.c.status,
            partners.c.paused_until,
            partners.c.timezone,
            partners.c.capacity,
        )
        .where(partners.c.status != PartnerStatus.RETIRED)
        .order_by(partners.c.slug)
    )
    out = []
    for r in await uow.execute(stmt):
        status = str(r.status)
        if r.paused_until is not None and r.paused_until > now:
            # in the partner's own time zone, as `pause ... until` answered it
            back = r.paused_until.astimezone(ZoneInfo(r.timezone))
            status = f"paused until {back:%Y-%m-%d %H:%M} ({back.tzname()})"
        out.append(Standing(r.slug, r.name, status, used.get(r.id, 0), r.capacity))
    return out
