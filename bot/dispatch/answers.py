"""accept_offer and decline_offer: a partner answers an offer card."""

from __future__ import annotations

from bot.dispatch.common import pending_offers, settle_offer
from bot.dispatch.context import Context
from bot.dispatch.offering import offer_next
from bot.domain.actors import Actor, Source
from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import Offer, OfferStatus, Outcome
from bot.store.uow import UnitOfWork


async def too_late(uow: UnitOfWork, offer: Offer) -> Outcome:
    """Explain to a late presser what happened to the offer instead."""
    lead = await uow.leads.get(offer.lead_id)
    assert lead is not None
    if offer.status is OfferStatus.ACCEPTED:
        return Outcome.refused(f"Already accepted by {offer.responder}.", lead.id)
    if offer.status is OfferStatus.DECLINED:
        return Outcome.refused(f"Already declined by {offer.responder}.", lead.id)
    if offer.status is OfferStatus.EXPIRED:
        return Outcome.refused("This offer expired and was passed on.", lead.id)
    if lead.partner_id is not None and lead.partner_id != offer.partner_id:
        taker = await uow.partners.get_name(lead.partner_id)
        return Outcome.refused(f"Already taken by {taker}.", lead.id)
    return Outcome.refused(f"This offer is no longer open ({offer.status}).", lead.id)


async def _open_offer(
    uow: UnitOfWork, offer_id: int, actor: Actor
) -> tuple[Offer | None, Outcome | None]:
    """Lock the offer's lead and check the presser; an Outcome means stop and say that."""
    offer = await uow.offers.get(offer_id)
    if offer is None:
        return None, Outcome.refused("This offer does not exist.")
    await uow.leads.lock(offer.lead_id)
    if not actor.may_act_for(offer.partner_id):
        name = await uow.partners.get_name(offer.partner_id)
        return None, Outcome.refused(f"Not for you: this offer is for {name}; nothing was changed.")
    return offer, None


async def accept_offer(
    uow: UnitOfWork, ctx: Context, *, offer_id: int, actor: Actor, source: Source
) -> Outcome:
    """Take the lead: exactly one caller wins; every other copy of the lead is withdrawn."""
    offer, refusal = await _open_offer(uow, offer_id, actor)
    if refusal:
        return refusal
    assert offer is not None
    if not actor.is_manager:
        used, capacity = await uow.partners.capacity_in_use(offer.partner_id)
        if used >= capacity:
            return Outcome.refused(
                f"You are at capacity ({used} of {capacity} open leads): close one first, "
                "or ask a manager to raise your capacity. The offer stays open for now."
            )
    won = await settle_offer(
        uow, ctx, offer_id, OfferStatus.ACCEPTED, actor=actor, source=source, responder=actor.name
    )
    if won is None:
        current = await uow.offers.get(offer_id)
        assert current is not None
        return await too_late(uow, current)
    now = ctx.now()
    moved = await uow.leads.cas(
        won.lead_id,
        expect={"status": DispatchStatus.OFFERED},
        now=now,
        status=DispatchStatus.ACCEPTED,
        partner_id=won.partner_id,
        stage=Stage.ACCEPTED,
        stage_changed_at=now,
    )
    if not moved:
        raise RuntimeError(f"lead {won.lead_id} had a pending offer but was not offered")
    for other in await pending_offers(uow, won.lead_id):
        await settle_offer(
            uow,
            ctx,
            other.id,
            OfferStatus.WITHDRAWN,
            actor=Actor.system(),
            source=source,
            decline_reason="taken by another partner",
        )
    await uow.commit()
    return Outcome.done(
        "Accepted: the lead is yours. The contact details are on the card.", won.lead_id
    )


async def decline_offer(
    uow: UnitOfWork, ctx: Context, *, offer_id: int, actor: Actor, reason: str, source: Source
) -> Outcome:
    """Turn the lead down with one of the policy's reasons; it moves on at once."""
    offer, refusal = await _open_offer(uow, offer_id, actor)
    if refusal:
        return refusal
    assert offer is not None
    lead = await uow.leads.get(offer.lead_id)
    assert lead is not None
    policy = await ctx.policies.get(uow, lead.policy_version)
    if reason not in policy.decline_reasons:
        return Outcome.refused(
            f"'{reason}' is not a decline reason; use one of: {', '.join(policy.decline_reasons)}"
        )
    gone = await settle_offer(
        uow,
        ctx,
        offer_id,
        OfferStatus.DECLINED,
        actor=actor,
        source=source,
        responder=actor.name,
        decline_reason=reason,
    )
    if gone is None:
        current = await uow.offers.get(offer_id)
        assert current is not None
        return await too_late(uow, current)
    lead = await uow.leads.get(offer.lead_id)
    assert lead is not None
    await offer_next(uow, ctx, lead, actor=actor, source=source)
    await uow.commit()
    return Outcome.done("Declined: the lead was passed on.", lead.id)
