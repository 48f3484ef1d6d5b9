"""reassign_lead: a manager takes an accepted lead back from its partner."""

from __future__ import annotations

from typing import Any

from bot.dispatch.assignment import assign_to
from bot.dispatch.common import queue_card_edits
from bot.dispatch.context import Context
from bot.dispatch.events_out import emit
from bot.dispatch.offering import offer_next
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import TAKEN_BACK, OfferStatus, Outcome
from bot.store.uow import UnitOfWork


async def reassign_lead(
    uow: UnitOfWork,
    ctx: Context,
    *,
    lead_id: int,
    actor: Actor,
    source: Source,
    partner_slug: str | None = None,
    from_partner: int | None = None,
) -> Outcome:
    """Withdraw the lead from its partner (the card loses the contact details), then give it to
    `partner_slug`, or route it on to the next partner (to the managers if none is left).
    `from_partner`: only from this partner (a notice's button is about the partner it names;
    pressed after the lead moved on, it must not take it from the next one)."""
    if not actor.is_manager:
        return Outcome.refused("Only managers can take a lead back.")
    lead = await uow.leads.lock(lead_id)
    if lead is None:
        return Outcome.refused("This lead does not exist.")
    if lead.status is not DispatchStatus.ACCEPTED or lead.partner_id is None:
        return Outcome.refused(
            f"Lead {lead.public_id} is {lead.status}, not with a partner.", lead.id
        )
    holder = await uow.partners.get_name(lead.partner_id)
    if from_partner is not None and lead.partner_id != from_partner:
        was = await uow.partners.get_name(from_partner)
        return Outcome.refused(
            f"Lead {lead.public_id} is no longer with {was} but with {holder}; nothing changed.",
            lead.id,
        )
    now = ctx.now()
    for offer in await uow.offers.list_for_lead(lead.id):
        if offer.status is OfferStatus.ACCEPTED and offer.partner_id == lead.partner_id:
            await uow.offers.withdraw_accepted(offer.id, now=now, reason=TAKEN_BACK)
            await queue_card_edits(uow, ctx, offer.id)
    if not await uow.leads.cas(
        lead.id,
        expect={"status": DispatchStatus.ACCEPTED},
        now=now,
        status=DispatchStatus.OFFERED,
        round=0,  # a fresh set of rounds; partners already tried stay excluded by their offers
        partner_id=None,
        stage=Stage.NONE,
        stage_changed_at=now,
        contacted_at=None,  # the funnel counts milestones for the partner that has the lead
        qualified_at=None,
        opportunity_at=None,
        nudged_at=None,
        stale_alerted_at=None,
    ):
        raise RuntimeError(f"lead {lead.id} changed under its lock")
    await uow.events.append(
        lead.id,
        EventKind.REASSIGNED,
        actor=actor,
        source=source,
        at=now,
        partner_id=lead.partner_id,
        previous=holder,
    )
    gone: dict[str, Any] = {"from": lead.stage, "to": Stage.NONE, "partner_id": lead.partner_id}
    await emit(uow, ctx, "lead.stage_changed", lead=lead, **gone, reason=TAKEN_BACK)
    fresh = await uow.leads.get(lead.id)
    assert fresh is not None
    if partner_slug is not None:
        outcome = await assign_to(uow, ctx, fresh, partner_slug, actor=actor, source=source)
        if not outcome.ok:
            return outcome  # rolled back with the caller's unit of work: nothing changed
        await uow.commit()
        return Outcome.done(
            f"Lead {lead.public_id} taken back from {holder}: {outcome.message}", lead.id
        )
    await offer_next(uow, ctx, fresh, actor=actor, source=source)
    after = await uow.leads.get(lead.id)
    assert after is not None
    await uow.commit()
    if after.status is DispatchStatus.OFFERED:
        return Outcome.done(
            f"Lead {lead.public_id} taken back from {holder} and offered to the next partner.",
            lead.id,
        )
    return Outcome.done(
        f"Lead {lead.public_id} taken back from {holder}; nobody else can take "
        f"it, so it is with the managers ({after.status}).",
        lead.id,
    )
