"""offer_next: route a lead to its next partner(s), or escalate it to the managers."""

from __future__ import annotations

from datetime import datetime

from bot.dispatch.common import queue_offer_cards, settle_offer
from bot.dispatch.context import Context
from bot.dispatch.deciding import decide, lead_facts, routing_options
from bot.dispatch.escalation import escalate
from bot.dispatch.events_out import emit
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus, Lead
from bot.domain.offers import OfferMode, OfferStatus, tried_it
from bot.routing.policy import Filter
from bot.store.uow import UnitOfWork

ROUTABLE = (DispatchStatus.NEW, DispatchStatus.OFFERED)


def _summary(lead: Lead, dropped: dict[str, int]) -> str:
    """Why nobody is left; partners that had their go count as tried, not as not covering."""
    tried = dropped.pop(Filter.ALREADY_OFFERED, 0)
    where = f"{lead.country}-{lead.postcode}"
    if set(dropped) <= {Filter.TERRITORY}:
        if tried == 1:
            return f"the only partner covering {where} was tried"
        if tried:
            return f"all {tried} partners covering {where} were tried"
        return f"no partner covers {where}"
    reasons = [f"{n} dropped by the {f} filter" for f, n in dropped.items()]
    return "no eligible partner left: " + ", ".join(
        reasons + ([f"{tried} already tried"] if tried else [])
    )


async def _hold(
    uow: UnitOfWork,
    ctx: Context,
    lead: Lead,
    until: datetime,
    *,
    actor: Actor,
    source: Source,
) -> None:
    """Everyone who could take the lead is closed: it waits, visibly, until the first opens."""
    if lead.held_until == until:
        return
    await uow.leads.cas(lead.id, expect={"status": lead.status}, now=ctx.now(), held_until=until)
    await uow.events.append(
        lead.id, EventKind.HELD, actor=actor, source=source, at=ctx.now(), until=until.isoformat()
    )


async def offer_next(
    uow: UnitOfWork,
    ctx: Context,
    lead: Lead,
    *,
    actor: Actor,
    source: Source,
    fresh: bool = False,
) -> list[int]:
    """Offer `lead` (locked by the caller) to the next partner(s); returns the new offer ids.

    Does nothing while an offer is still pending or once the lead has left routing.
    `fresh`: the lead was stored in this same transaction (no offers, no decisions yet).
    """
    if lead.status not in ROUTABLE:
        return []
    offers = [] if fresh else await uow.offers.list_for_lead(lead.id)
    if any(o.status is OfferStatus.PENDING for o in offers):
        return []
    policy = await ctx.policies.get(uow, lead.policy_version)
    if lead.round >= policy.max_rounds:
        await escalate(
            uow, ctx, lead, f"nobody took it in {lead.round} rounds", actor=actor, source=source
        )
        return []
    tried = {o.partner_id for o in offers if tried_it(o)}
    count = 1 if policy.mode == "exclusive" else policy.broadcast_size
    now = ctx.now()
    decision = await decide(
        uow,
        ctx,
        lead_facts(lead),
        exclude=tried,
        count=count,
        options=routing_options(policy),
        lock=True,
        version=lead.policy_version,
    )
    trail = {"round": lead.round + 1, **decision.explanation()}
    explained = [trail] if fresh else [*await uow.leads.get_explanation(lead.id), trail]
    if not decision.chosen:
        await uow.leads.cas(lead.id, expect={}, now=now, explanation=explained)
    if not decision.chosen and decision.hold_until is not None:
        await _hold(uow, ctx, lead, decision.hold_until, actor=actor, source=source)
        return []
    if not decision.chosen:
        dropped: dict[str, int] = {}
        for v in decision.verdicts:
            if v.dropped_by:
                dropped[v.dropped_by] = dropped.get(v.dropped_by, 0) + 1
        await escalate(uow, ctx, lead, _summary(lead, dropped), actor=actor, source=source)
        return []
    mode = OfferMode(policy.mode)
    opened = await uow.rounds.open(
        lead,
        rotation=decision.rotation,
        chosen=[(p.id, decision.reasons[p.id]) for p in decision.chosen],
        mode=mode,
        explanation=explained,
        now=now,
    )
    if opened is None:
        raise RuntimeError(f"lead {lead.id} changed under its lock")
    created: list[int] = []
    stranded: list[int] = []
    for partner, offer in zip(decision.chosen, opened, strict=True):
        why = decision.reasons[partner.id]
        offer_id = offer.id
        await uow.events.append(
            lead.id,
            EventKind.OFFERED,
            actor=actor,
            source=source,
            at=now,
            offer_id=offer_id,
            partner=partner.slug,
            why=why,
            mode=mode,
        )
        await emit(
            uow,
            ctx,
            "offer.created",
            lead=lead,
            offer=offer_id,
            partner=partner.slug,
            round=lead.round + 1,
            mode=mode,
        )
        shown = await queue_offer_cards(uow, ctx, offer, lead=lead, partner_name=partner.name)
        (created if shown else stranded).append(offer_id)
    for offer_id in stranded:
        await settle_offer(
            uow,
            ctx,
            offer_id,
            OfferStatus.UNDELIVERABLE,
            actor=Actor.system(),
            source=Source.SYSTEM,
            decline_reason="no reachable chat",
        )
    if not created:
        relocked = await uow.leads.get(lead.id)
        assert relocked is not None
        return await offer_next(uow, ctx, relocked, actor=actor, source=source)
    return created


async def route_lead(
    uow: UnitOfWork, ctx: Context, *, lead_id: int, actor: Actor, source: Source
) -> list[int]:
    """Route a stored lead now (after intake, import, or a sweep finding it still new)."""
    lead = await uow.leads.lock(lead_id)
    if lead is None:
        return []
    offers = await offer_next(uow, ctx, lead, actor=actor, source=source)
    await uow.commit()
    return offers
