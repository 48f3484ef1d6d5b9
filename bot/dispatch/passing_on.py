"""Offers nobody can answer any more are passed on at once: those only chats just marked
broken were showing, and those to a partner taken out of leadbot.yaml.

"Undeliverable is not silence" (design.md §4): a card nobody can reach any more must not sit
until its window runs out. Used when a send finds a chat gone, when Telegram says the bot was
removed, and when a whole Slack workspace goes away.
"""

from __future__ import annotations

from dataclasses import replace

from bot.dispatch.common import settle_offer
from bot.dispatch.context import Context
from bot.dispatch.offering import offer_next
from bot.domain.actors import Actor, Source
from bot.domain.offers import OfferStatus, tried_it
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork


async def pass_on_pending(
    uow: UnitOfWork,
    ctx: Context,
    broken: list[Destination],
    reason: str,
    *,
    besides: int | None = None,
) -> list[str]:
    """Pending offers shown or queued only in `broken` chats (besides the offer `besides`, which
    the caller settles) become undeliverable and their leads move on; returns those leads."""
    pending: set[tuple[int, int]] = set()
    for dest in broken:
        if dest.member_id is None:  # a rep's DM copy never holds an offer on its own
            pending |= set(await uow.offers.list_pending_at(dest.id))
    moved: list[str] = []
    for offer_id, lead_id in sorted(pending, key=lambda p: (p[1], p[0])):  # leads locked in order
        if offer_id == besides:
            continue
        lead = await uow.leads.lock(lead_id)
        if lead is None or await uow.offers.count_standing_copies(offer_id):
            continue  # another chat of the partner still shows it
        settled = await settle_offer(
            uow,
            ctx,
            offer_id,
            OfferStatus.UNDELIVERABLE,
            actor=Actor.system(),
            source=Source.SYSTEM,
            decline_reason=reason[:64],
        )
        if settled is not None:
            moved.append(lead.public_id)
            await offer_next(uow, ctx, lead, actor=Actor.system(), source=Source.SYSTEM)
    return moved


async def pass_on_retired(uow: UnitOfWork, ctx: Context, *, offer_id: int) -> bool:
    """A pending offer to a partner taken out of leadbot.yaml is withdrawn and its lead moves
    on (its people were unlinked with it: nobody could answer); True if it did."""
    offer = await uow.offers.get(offer_id)
    lead = await uow.leads.lock(offer.lead_id) if offer is not None else None
    if lead is None:
        return False
    settled = await settle_offer(
        uow,
        ctx,
        offer_id,
        OfferStatus.WITHDRAWN,
        actor=Actor.system("leadbot.yaml"),
        source=Source.SYSTEM,
        decline_reason="partner removed from leadbot.yaml",
    )
    if settled is None:
        return False  # answered or expired meanwhile
    same_round = [o for o in await uow.offers.list_for_lead(lead.id) if o.round == settled.round]
    if settled.round == lead.round and not any(
        o.status is OfferStatus.PENDING or tried_it(o) for o in same_round
    ):
        # nobody had a go in this round: it does not count against max_rounds
        await uow.leads.cas(
            lead.id, expect={"round": lead.round}, now=ctx.now(), round=lead.round - 1
        )
        lead = replace(lead, round=lead.round - 1)
    await offer_next(uow, ctx, lead, actor=Actor.system(), source=Source.SYSTEM)
    await uow.commit()
    return True
