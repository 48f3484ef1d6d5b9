"""One lead's full story: the lead, its offers, its audit log."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.leads import Lead
from bot.domain.offers import Offer
from bot.store.events import LeadEvent
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
    if lead is None and ref.isascii() and ref.isdigit():
        lead = await uow.leads.get(int(ref))
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
