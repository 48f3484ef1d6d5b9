"""When nobody is left to take a lead: mark it unassigned and tell the managers."""

from __future__ import annotations

from bot.cards import area
from bot.dispatch.context import Context
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus, Lead
from bot.messaging import Notice
from bot.store.outbox import OutboxKind
from bot.store.uow import UnitOfWork


async def escalate(
    uow: UnitOfWork, ctx: Context, lead: Lead, reason: str, *, actor: Actor, source: Source
) -> None:
    """Move a routable lead to `unassigned`, log why, and queue a notice to every manager chat."""
    now = ctx.now()
    moved = await uow.leads.cas(
        lead.id, expect={"status": lead.status}, now=now, status=DispatchStatus.UNASSIGNED
    )
    if not moved:
        return
    await uow.events.append(
        lead.id, EventKind.UNASSIGNED, actor=actor, source=source, at=now, reason=reason
    )
    tried = await uow.offers.list_for_lead(lead.id)
    names = [await uow.partners.get_name(o.partner_id) for o in tried]
    lines = [
        f"{area(lead)} · {', '.join(lead.specialties) or 'no specialty given'}",
        f"Why: {reason}",
        f"Tried: {', '.join(f'{n} ({o.status})' for n, o in zip(names, tried, strict=True))}"
        if tried
        else "Tried: nobody",
        f"Assign it with: /lead assign {lead.public_id} <partner>",
    ]
    notice = Notice(
        title=f"Nobody took lead {lead.public_id}", lines=lines, lead_ref=lead.public_id
    )
    for dest in await uow.partners.list_destinations(partner_id=None):
        await uow.outbox.enqueue(
            OutboxKind.NOTICE,
            now=now,
            destination_id=dest.id,
            lead_id=lead.id,
            payload=notice.to_payload(),
        )
    uow.after_commit(ctx.hooks.poke)
