"""assign_lead: a manager hands a lead to a partner directly, bypassing the filters."""

from __future__ import annotations

from bot.dispatch.common import pending_offers, queue_offer_cards, settle_offer
from bot.dispatch.context import Context
from bot.dispatch.events_out import emit
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus, Lead, Stage
from bot.domain.offers import OfferMode, OfferStatus, Outcome
from bot.domain.partners import PartnerStatus
from bot.store.uow import UnitOfWork

ASSIGNABLE = (DispatchStatus.NEW, DispatchStatus.OFFERED, DispatchStatus.UNASSIGNED)


async def assign_lead(
    uow: UnitOfWork, ctx: Context, *, lead_id: int, partner_slug: str, actor: Actor, source: Source
) -> Outcome:
    """Give the lead to `partner_slug` as accepted; pending offers are withdrawn. Logged."""
    if not actor.is_manager:
        return Outcome.refused("Only managers can assign leads.")
    lead = await uow.leads.lock(lead_id)
    if lead is None:
        return Outcome.refused("This lead does not exist.")
    outcome = await assign_to(uow, ctx, lead, partner_slug, actor=actor, source=source)
    if outcome.ok:
        await uow.commit()
    return outcome


async def assign_to(
    uow: UnitOfWork, ctx: Context, lead: Lead, partner_slug: str, *, actor: Actor, source: Source
) -> Outcome:
    """The assignment itself, on a lead the caller has locked; the caller commits."""
    if lead.status not in ASSIGNABLE:
        holder = await uow.partners.get_name(lead.partner_id) if lead.partner_id else "nobody"
        return Outcome.refused(
            f"Lead {lead.public_id} is already {lead.status} ({holder}).", lead.id
        )
    found = await uow.partners.get_by_slug(partner_slug)
    if found is None or found[2] is PartnerStatus.RETIRED:
        return Outcome.refused(f"There is no partner '{partner_slug}'.", lead.id)
    partner_id, partner_name, _status = found
    for offer in await pending_offers(uow, lead.id):
        await settle_offer(
            uow,
            ctx,
            offer.id,
            OfferStatus.WITHDRAWN,
            actor=actor,
            source=source,
            decline_reason="assigned by a manager",
        )
    now = ctx.now()
    offer = await uow.offers.create(
        lead_id=lead.id,
        partner_id=partner_id,
        round=lead.round,
        mode=OfferMode.MANUAL,
        now=now,
        why=f"assigned by {actor.name}",
        status=OfferStatus.ACCEPTED,
        responder=actor.name,
    )
    moved = await uow.leads.cas(
        lead.id,
        expect={"status": lead.status},
        now=now,
        status=DispatchStatus.ACCEPTED,
        partner_id=partner_id,
        stage=Stage.ACCEPTED,
        stage_changed_at=now,
        nudged_at=None,
        stale_alerted_at=None,
        held_until=None,
    )
    if not moved:
        raise RuntimeError(f"lead {lead.id} changed under its lock")
    await uow.events.append(
        lead.id,
        EventKind.ASSIGNED,
        actor=actor,
        source=source,
        at=now,
        offer_id=offer.id,
        partner=partner_slug,
        previous=lead.status,
    )
    # to a CRM it is an offer accepted on the partner's behalf: who holds the lead now
    await emit(
        uow, ctx, "offer.accepted", lead=lead, offer=offer.id, partner=partner_slug, mode="manual"
    )
    if not await queue_offer_cards(uow, ctx, offer, partner_name=partner_name):
        return Outcome.refused(  # the caller rolls it all back: the lead stays as it was
            f"{partner_name} has no chat Leadbot can reach (none declared, or each broken): "
            f"lead {lead.public_id} was not assigned.",
            lead.id,
        )
    return Outcome.done(f"Lead {lead.public_id} assigned to {partner_name}.", lead.id)
