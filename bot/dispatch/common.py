"""Steps shared by several use cases: settling an offer and queueing card edits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.dispatch.context import Context, ReadyCard
from bot.dispatch.events_out import emit
from bot.dispatch.rendering import render_offer
from bot.domain.actors import Actor, Source
from bot.domain.events import OFFER_EVENT
from bot.domain.leads import Lead
from bot.domain.offers import Offer, OfferStatus
from bot.messaging import Notice, OfferCard
from bot.store.outbox import OutboxKind
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork


async def queue_card_edits(uow: UnitOfWork, ctx: Context, offer_id: int) -> None:
    """Edit every posted copy of an offer's card (copies not yet posted render fresh)."""
    for message_id, destination_id in await uow.offers.list_messages(offer_id):
        await uow.outbox.enqueue(
            OutboxKind.UPDATE,
            now=ctx.now(),
            offer_id=offer_id,
            offer_message_id=message_id,
            destination_id=destination_id,
        )
    uow.after_commit(ctx.hooks.poke)


async def notify_managers(
    uow: UnitOfWork,
    ctx: Context,
    notice: Notice,
    *,
    lead_id: int | None = None,
    chats: list[Destination] | None = None,
) -> None:
    """Queue a notice for every managers' chat (`chats` if the caller has them already)."""
    if chats is None:
        chats = await uow.partners.list_destinations(partner_id=None)
    for dest in chats:
        await uow.outbox.enqueue(
            OutboxKind.NOTICE,
            now=ctx.now(),
            destination_id=dest.id,
            lead_id=lead_id,
            payload=notice.to_payload(),
        )
    uow.after_commit(ctx.hooks.poke)


async def notify_partner(
    uow: UnitOfWork, ctx: Context, notice: Notice, *, partner_id: int, lead_id: int
) -> None:
    """Queue a notice for every chat of a partner, mentioning its reps so their phones push."""
    members = await uow.members.list_for_partner(partner_id)
    for dest in await uow.partners.list_destinations(partner_id=partner_id):
        mentions = [ext for _name, platform, ext in members if platform == dest.platform]
        await uow.outbox.enqueue(
            OutboxKind.NOTICE,
            now=ctx.now(),
            destination_id=dest.id,
            lead_id=lead_id,
            payload=replace(notice, mentions=mentions).to_payload(),
        )
    uow.after_commit(ctx.hooks.poke)


async def queue_offer_cards(
    uow: UnitOfWork,
    ctx: Context,
    offer: Offer,
    *,
    lead: Lead | None = None,
    partner_name: str | None = None,
) -> int:
    """Queue the offer's card for every chat of the partner, and a copy for each of its reps
    who get Telegram DMs; returns how many of the partner's own chats.

    With the express lane running, the cards are drawn now and sent right after the commit.
    """
    chats, dms, mentions = await uow.chats.offer_targets(offer.partner_id)
    targets = chats + dms if chats else []
    lane = ctx.hooks.express
    ready: list[ReadyCard] = []
    cards: dict[str, OfferCard | None] = {}
    for dest in targets:
        if lane is not None and dest.platform not in cards:
            cards[dest.platform] = await render_offer(
                uow,
                ctx,
                offer_id=offer.id,
                platform=dest.platform,
                offer=offer,
                lead=lead,
                partner_name=partner_name,
                mentions=mentions,
            )
        card = cards.get(dest.platform)
        slot = await lane.reserve(uow, dest) if lane is not None and card is not None else None
        not_before = None
        if slot is not None and slot.at is None:  # the chat is busy for a while: queue it
            card, not_before = None, datetime.fromtimestamp(slot.free_at, UTC)
        until = ctx.now() + lane.lease if lane else ctx.now()
        item = await uow.outbox.enqueue(
            OutboxKind.OFFER,
            now=ctx.now(),
            destination_id=dest.id,
            offer_id=offer.id,
            lead_id=offer.lead_id,
            claim=(lane.claim, until) if lane and card else None,
            not_before=not_before,
        )
        if lane is not None and card is not None:
            at = slot.at if slot is not None else None
            ready.append(ReadyCard(item, dest, card, offer.status, until, at))
    if lane is not None and ready:
        uow.after_commit(lambda: lane.send(ready))
    if len(ready) < len(targets):
        uow.after_commit(ctx.hooks.poke)
    return len(chats)


async def settle_offer(
    uow: UnitOfWork,
    ctx: Context,
    offer_id: int,
    to: OfferStatus,
    *,
    actor: Actor,
    source: Source,
    due: bool = False,
    **values: Any,
) -> Offer | None:
    """Compare-and-set a pending offer to `to`, log it once, edit its cards, stop its timer.

    Returns None (and changes nothing) when the offer had already left `pending`.
    """
    now = ctx.now()
    offer = await uow.offers.leave_pending(
        offer_id, to, now=now, due_by=now if due else None, **values
    )
    if offer is None:
        return None
    data = {k: v for k, v in values.items() if k != "responder" and v is not None}
    await uow.events.append(
        offer.lead_id,
        OFFER_EVENT[to],
        actor=actor,
        source=source,
        at=now,
        offer_id=offer_id,
        partner_id=offer.partner_id,
        **data,
    )
    await queue_card_edits(uow, ctx, offer_id)
    uow.after_commit(lambda: ctx.hooks.disarm(offer_id))
    if to in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED):
        await emit(
            uow,
            ctx,
            f"offer.{to}",
            lead_id=offer.lead_id,
            offer=offer_id,
            partner_id=offer.partner_id,
            **data,
        )
    waited = (now - offer.delivered_at).total_seconds() if offer.delivered_at else None
    uow.after_commit(lambda: ctx.observe.offer_settled(to, waited))
    return offer


async def pending_offers(uow: UnitOfWork, lead_id: int) -> list[Offer]:
    return [o for o in await uow.offers.list_for_lead(lead_id) if o.status is OfferStatus.PENDING]
