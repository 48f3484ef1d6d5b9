"""One lead's full story: the lead, its offers, its audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.domain.leads import Lead
from bot.domain.offers import Offer
from bot.store.events import LeadEvent
from bot.store.tables import leads, partners, row_id
from bot.store.uow import UnitOfWork


@dataclass(frozen=True)
class LeadHistory:
    lead: Lead
    partner: str | None
    offers: list[Offer]
    events: list[LeadEvent]
    partner_names: dict[int, str]
    partner_slugs: dict[int, str]


async def get_lead_history(uow: UnitOfWork, ref: str) -> LeadHistory | None:
    """Look a lead up by public id (or numeric id) and gather its history."""
    lead = await uow.leads.get_by_public_id(ref)
    if lead is None and (number := row_id(ref)) is not None:
        lead = await uow.leads.get(number)
    if lead is None:
        return None
    listed = await uow.partners.list_names()
    names = {pid: name for pid, (_slug, name) in listed.items()}
    return LeadHistory(
        lead=lead,
        partner=names.get(lead.partner_id) if lead.partner_id else None,
        offers=await uow.offers.list_for_lead(lead.id),
        events=await uow.events.list_for_lead(lead.id),
        partner_names=names,
        partner_slugs={pid: slug for pid, (slug, _name) in listed.items()},
    )


async def get_lead_summary(uow: UnitOfWork, lead_id: int) -> LeadHistory | None:
    """A lead and its offers, without its events or partner names: what the API answers a
    new lead with. Two short reads, however many partners there are."""
    lead = await uow.leads.get(lead_id)
    if lead is None:
        return None
    offered = await uow.offers.list_with_slugs(lead.id)
    slugs = {offer.partner_id: slug for offer, slug in offered}
    if lead.partner_id is not None and lead.partner_id not in slugs:  # no offer of its own
        named = await uow.partners.list_names([lead.partner_id])
        slugs |= {pid: slug for pid, (slug, _name) in named.items()}
    return LeadHistory(
        lead=lead,
        partner=None,
        offers=[offer for offer, _slug in offered],
        events=[],
        partner_names={},
        partner_slugs=slugs,
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def lead_view(h: LeadHistory, *, with_events: bool, private: bool = True) -> dict[str, Any]:
    """The API's JSON for one lead, never with the contact (the caller adds it if allowed).

    Not `private` (no API key): no external id, and events without who did what and why.
    """
    lead = h.lead
    view: dict[str, Any] = {
        "id": lead.public_id,
        "status": lead.status,
        "stage": lead.stage,
        "partner": h.partner_slugs.get(lead.partner_id) if lead.partner_id else None,
        "received_at": _iso(lead.received_at),
        "source": lead.source,
        "external_id": lead.external_id,
        "country": lead.country,
        "postcode": lead.postcode,
        "city": lead.city,
        "specialties": list(lead.specialties),
        "offers": [
            {
                "id": o.id,
                "partner": h.partner_slugs.get(o.partner_id),
                "round": o.round,
                "mode": o.mode,
                "status": o.status,
                "delivered_at": _iso(o.delivered_at),
                "expires_at": _iso(o.expires_at),
                "responded_at": _iso(o.responded_at),
            }
            for o in h.offers
        ],
    }
    if with_events:
        view["events"] = [
            {"at": _iso(e.at), "kind": e.kind, "actor": e.actor, "source": e.source, "data": e.data}
            if private
            else {"at": _iso(e.at), "kind": e.kind}
            for e in h.events
        ]
    if not private:
        view.pop("external_id")
    return view


async def list_leads(
    uow: UnitOfWork,
    *,
    status: str | None,
    partner: str | None,
    since: datetime | None,
    limit: int,
    after: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of leads (id order) and the cursor for the next page (None at the end)."""
    stmt = (
        select(
            leads.c.id,
            leads.c.public_id,
            leads.c.status,
            leads.c.stage,
            leads.c.received_at,
            leads.c.source,
            leads.c.postcode,
            partners.c.slug,
        )
        .outerjoin(partners, partners.c.id == leads.c.partner_id)
        .where(leads.c.id > after)
        .order_by(leads.c.id)
        .limit(limit + 1)
    )
    if status:
        stmt = stmt.where(leads.c.status == status)
    if partner:
        stmt = stmt.where(partners.c.slug == partner)
    if since:
        stmt = stmt.where(leads.c.received_at >= since)
    rows = (await uow.execute(stmt)).all()
    page = [
        {
            "id": r.public_id,
            "status": r.status,
            "stage": r.stage,
            "partner": r.slug,
            "received_at": _iso(r.received_at),
            "source": r.source,
            "postcode": r.postcode,
        }
        for r in rows[:limit]
    ]
    return page, rows[limit - 1].id if len(rows) > limit else None
