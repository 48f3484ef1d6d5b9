"""What the outbox sender reports back: a card was delivered, or could not be."""

from __future__ import annotations

from bot.dispatch.common import notify_managers, settle_offer
from bot.dispatch.context import Context
from bot.dispatch.offering import offer_next
from bot.dispatch.passing_on import pass_on_pending
from bot.dispatch.windows import offer_window
from bot.dispatch.workspaces import passed_on_line, tell_workspace_broken
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import Lead, Stage
from bot.domain.offers import Offer, OfferMode, OfferStatus
from bot.messaging import MessageRef, Notice
from bot.store.outbox import OutboxItem, OutboxKind
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork


async def record_delivery(
    uow: UnitOfWork,
    ctx: Context,
    *,
    item: OutboxItem,
    destination: Destination,
    ref: MessageRef,
    shown: OfferStatus | None = None,
) -> None:
    """Remember where the card is; the first delivery starts the offer window.

    `shown` is the offer's status when the card was drawn: if it changed while the card was
    on its way (an Accept on another copy), this copy is brought up to date at once.
    """
    now = ctx.now()
    if item.kind is not OutboxKind.OFFER or item.offer_id is None:
        await uow.outbox.finish(item, status="sent", now=now)
        await uow.commit()
        return
    lead_id = item.lead_id
    if lead_id is None:  # an item queued before outbox rows carried their lead
        queued = await uow.offers.get(item.offer_id)
        assert queued is not None
        lead_id = queued.lead_id
    lead = await uow.leads.lock(lead_id)  # the lead first, as every use case does
    assert lead is not None
    await uow.outbox.finish(item, status="sent", now=now)
    message_id = await uow.offers.add_message(
        offer_id=item.offer_id,
        destination_id=destination.id,
        platform=destination.platform,
        chat_id=ref.chat_id,
        message_id=ref.message_id,
        now=now,
    )
    # read under the lead's lock: as current as the offer's status gets
    offers = await uow.offers.list_for_lead(lead.id)
    offer = next(o for o in offers if o.id == item.offer_id)
    expires_at, remind_at = await offer_window(
        uow, ctx, lead=lead, partner_id=offer.partner_id, start=now
    )
    if await uow.offers.mark_delivered(
        offer.id, at=now, expires_at=expires_at, remind_at=remind_at
    ):
        await uow.events.append(
            lead.id,
            EventKind.DELIVERED,
            actor=Actor.system(),
            source=Source.SYSTEM,
            at=now,
            offer_id=offer.id,
            platform=destination.platform,
            expires_at=expires_at.isoformat(),
        )
        uow.after_commit(lambda: ctx.hooks.arm(offer.id, expires_at))
        first_card = (now - lead.received_at).total_seconds()
        if not any(o.delivered_at for o in offers if o.id != offer.id):
            # the lead's first card in any chat: how long from intake to a partner's phone
            uow.after_commit(lambda: ctx.observe.delivered(first_card))
        if remind_at is not None:
            uow.after_commit(lambda: ctx.hooks.remind(offer.id, remind_at))
    if offer.status is not (shown or OfferStatus.PENDING):
        # answered (or withdrawn) while this copy was on its way: bring it up to date
        await uow.outbox.enqueue(
            OutboxKind.UPDATE,
            now=now,
            offer_id=offer.id,
            offer_message_id=message_id,
            destination_id=destination.id,
        )
        uow.after_commit(ctx.hooks.poke)
    await uow.commit()


async def record_failure(
    uow: UnitOfWork,
    ctx: Context,
    *,
    item: OutboxItem,
    destination: Destination | None,
    reason: str,
    gone: bool = False,
    team_wide: bool = False,
) -> None:
    """A send failed for good. An offer no chat can show is undeliverable and moves on.

    `gone`: the chat itself is gone for the bot. It is marked broken (no card goes there until
    it is fixed) and the managers are told once, not once per lead. `team_wide`: so is every
    chat of that workspace (its token is dead): all are marked, in one notice. A rep's private
    chat (a DM copy) is only an extra push: it failing stops the DMs to that rep, nothing else.
    """
    now = ctx.now()
    if destination is not None and destination.member_id is not None:
        if gone:  # they blocked the bot: no more DMs to them until they write to it again
            await uow.partners.mark_broken(destination.id, reason=reason, now=now)
        await uow.outbox.finish(item, status="failed", now=now, error=reason[:500])
        await uow.commit()
        return
    newly_broken = False
    broken: list[Destination] = []
    if gone and destination is not None and team_wide:
        broken = await uow.partners.mark_team_broken(
            platform=destination.platform, teams={destination.team}, reason=reason, now=now
        )
        newly_broken = bool(broken)
    elif gone and destination is not None:
        newly_broken = await uow.partners.mark_broken(destination.id, reason=reason, now=now)
        broken = [destination] if newly_broken else []
    if item.kind is not OutboxKind.OFFER or item.offer_id is None:
        await uow.outbox.finish(item, status="failed", now=now, error=reason[:500])
        if item.kind is OutboxKind.UPDATE and not gone and destination is not None:
            await _post_again(uow, ctx, item, destination)
        if newly_broken:  # an edit or a notice found the chat gone: its open cards move on
            moved = await pass_on_pending(uow, ctx, broken, reason)
            await _tell(uow, ctx, broken, reason, passed_on=moved, team_wide=team_wide)
        await uow.commit()
        return
    offer = await uow.offers.get(item.offer_id)
    assert offer is not None
    lead = await uow.leads.lock(offer.lead_id)  # settling below touches the offer, not it
    assert lead is not None
    await uow.outbox.finish(item, status="failed", now=now, error=reason[:500])
    moved = []
    if offer.status is OfferStatus.ACCEPTED:
        # theirs already (a manager's assignment, or the card posted again after Accept), but
        # they may not know it, or not have the contact: nothing to pass on, the managers told
        await _tell_unseen(uow, ctx, lead, offer, destination, reason)
    elif not await uow.offers.count_standing_copies(offer.id):  # no other copy shown or queued
        settled = await settle_offer(
            uow,
            ctx,
            offer.id,
            OfferStatus.UNDELIVERABLE,
            actor=Actor.system(),
            source=Source.SYSTEM,
            decline_reason=reason[:64],
        )
        if settled is not None:
            moved.append(lead.public_id)
            if not gone:  # a chat gone is told once, below; one known broken was told before
                await _tell_undelivered(uow, ctx, lead, offer.partner_id, destination, reason)
            await offer_next(uow, ctx, lead, actor=Actor.system(), source=Source.SYSTEM)
    if newly_broken:  # the other cards only those chats were showing move on too
        moved += await pass_on_pending(uow, ctx, broken, reason, besides=offer.id)
        await _tell(uow, ctx, broken, reason, passed_on=moved, team_wide=team_wide)
    await uow.commit()


async def _post_again(
    uow: UnitOfWork, ctx: Context, item: OutboxItem, destination: Destination
) -> None:
    """The edit that brings the contact after Accept failed for good (the card was deleted,
    say): the card is posted again, once, so that the partner has the contact."""
    offer = await uow.offers.get(item.offer_id or 0)
    lead = await uow.leads.get(offer.lead_id) if offer is not None else None
    if (
        offer is None
        or lead is None
        or offer.status is not OfferStatus.ACCEPTED
        or lead.partner_id != offer.partner_id
        or lead.stage is not Stage.ACCEPTED  # later edits only move the stage on
        or destination.member_id is not None  # a rep's DM copy: an extra push, not the card
        or not destination.active
    ):
        return
    shown = [m for m, d in await uow.offers.list_messages(offer.id) if d == destination.id]
    if any(m > (item.offer_message_id or 0) for m in shown):
        return  # posted again already
    await uow.outbox.enqueue(
        OutboxKind.OFFER,
        now=ctx.now(),
        destination_id=destination.id,
        offer_id=offer.id,
        lead_id=lead.id,
    )
    uow.after_commit(ctx.hooks.poke)


def _chat(destination: Destination | None) -> str:
    return f"{destination.platform} chat {destination.chat_id}" if destination else "its chat"


async def _tell_undelivered(
    uow: UnitOfWork,
    ctx: Context,
    lead: Lead,
    partner_id: int,
    destination: Destination | None,
    reason: str,
) -> None:
    partner = await uow.partners.get_name(partner_id)
    where = _chat(destination)
    notice = Notice(
        title=f"Lead {lead.public_id} could not reach {partner}",
        lines=[f"Sending to {where} failed: {reason}", "The lead was passed on."],
        lead_ref=lead.public_id,
    )
    await notify_managers(uow, ctx, notice, lead_id=lead.id)


async def _tell_unseen(
    uow: UnitOfWork,
    ctx: Context,
    lead: Lead,
    offer: Offer,
    destination: Destination | None,
    reason: str,
) -> None:
    partner = await uow.partners.get_name(offer.partner_id)
    where = _chat(destination)
    how = "assigned to" if offer.mode is OfferMode.MANUAL else "accepted by"
    notice = Notice(
        title=f"Lead {lead.public_id}, {how} {partner}, did not reach them",
        lines=[
            f"Sending to {where} failed: {reason}",
            f"The lead is {partner}'s, but they may not know it or its contact: tell them, "
            "or take it back.",
        ],
        lead_ref=lead.public_id,
    )
    await notify_managers(uow, ctx, notice, lead_id=lead.id)


async def _tell(
    uow: UnitOfWork,
    ctx: Context,
    chats: list[Destination],
    reason: str,
    *,
    passed_on: list[str] | None,
    team_wide: bool,
) -> None:
    """Tell the managers, once, which chats are now broken and why."""
    if team_wide:
        await tell_workspace_broken(uow, ctx, chats, reason, passed_on=passed_on)
    elif chats:
        await tell_broken(uow, ctx, chats[0], reason, passed_on=passed_on)


async def tell_broken(
    uow: UnitOfWork,
    ctx: Context,
    dest: Destination,
    reason: str,
    *,
    passed_on: list[str] | None = None,
) -> None:
    """Tell the managers a chat is gone for the bot (once: when it is first marked broken)."""
    whose = "The managers'" if dest.partner_id is None else None
    if whose is None:
        whose = f"{await uow.partners.get_name(dest.partner_id or 0)}'s"
    fix = (
        "Nothing is sent there until the bot is back in that chat (added back to the group, or "
        "unblocked: Leadbot notices by itself), or the chat is corrected in leadbot.yaml and "
        "`leadbot config apply` is run."
        if dest.platform == "telegram"
        else "Nothing is sent there until it is fixed (invite the bot back, or correct the chat "
        "in leadbot.yaml) and `leadbot config apply` is run."
    )
    lines = [f"{dest.platform.capitalize()} said: {reason.removeprefix(dest.platform + ': ')}", fix]
    if passed_on:
        lines.append(passed_on_line(passed_on))
    notice = Notice(
        title=f"{whose} {dest.platform} chat {dest.chat_id} is unreachable",
        lines=lines,
        lead_ref=passed_on[0] if passed_on and len(passed_on) == 1 else None,
    )
    await notify_managers(uow, ctx, notice)
