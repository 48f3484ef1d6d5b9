"""When nobody is left to take a lead: mark it unassigned, tell the managers, and keep telling."""

from __future__ import annotations

from dataclasses import replace

from bot.cards import area
from bot.dispatch.common import notify_managers
from bot.dispatch.context import Context
from bot.dispatch.deciding import decide, lead_facts, routing_options
from bot.dispatch.events_out import emit
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus, Lead
from bot.domain.offers import OfferStatus
from bot.messaging import Button, Notice
from bot.store.uow import UnitOfWork

CANDIDATE_BUTTONS = 3


async def _notice(uow: UnitOfWork, ctx: Context, lead: Lead, reason: str, title: str) -> Notice:
    """The managers' card: what the lead is, why nobody has it, who tried, who could take it."""
    tried = await uow.offers.list_for_lead(lead.id)
    known = (await ctx.policies.directory(uow, at_least=lead.policy_version)).partners
    names = {
        o.partner_id: known[o.partner_id].name
        if o.partner_id in known
        else await uow.partners.get_name(o.partner_id)
        for o in tried
    }
    policy = await ctx.policies.get(uow, lead.policy_version)
    # managers may hand it to anyone who did not say no, open or not, tried or not
    declined = {o.partner_id for o in tried if o.status is OfferStatus.DECLINED}
    decision = await decide(
        uow,
        ctx,
        lead_facts(lead),
        exclude=declined,
        count=CANDIDATE_BUTTONS,
        options=replace(routing_options(policy), out_of_hours="offer"),
        lock=False,
        version=lead.policy_version,
    )
    tried_text = ", ".join(f"{names[o.partner_id]} ({o.status})" for o in tried)
    return Notice(
        title=title,
        lines=[
            f"{area(lead)} · {', '.join(lead.specialties) or 'no specialty given'}",
            f"Why: {reason}",
            f"Tried: {tried_text or 'nobody'}",
            f"Or assign it with: /lead assign {lead.public_id} <partner>",
        ],
        lead_ref=lead.public_id,
        buttons=[
            Button(f"Assign to {p.name}", f"a:{lead.id}:{p.id}", "primary") for p in decision.chosen
        ],
    )


async def escalate(
    uow: UnitOfWork, ctx: Context, lead: Lead, reason: str, *, actor: Actor, source: Source
) -> None:
    """Move a routable lead to `unassigned`, log why, and put it in front of the managers."""
    now = ctx.now()
    moved = await uow.leads.cas(
        lead.id,
        expect={"status": lead.status},
        now=now,
        status=DispatchStatus.UNASSIGNED,
        escalated_at=now,
        escalations=1,
        held_until=None,
    )
    if not moved:
        return
    await uow.events.append(
        lead.id, EventKind.UNASSIGNED, actor=actor, source=source, at=now, reason=reason
    )
    await emit(uow, ctx, "lead.unassigned", lead=lead, reason=reason)
    chats = await uow.partners.list_destinations(partner_id=None)
    if chats:  # the card needs a routing decision: only worth it when someone will see it
        notice = await _notice(uow, ctx, lead, reason, f"Nobody took lead {lead.public_id}")
        await notify_managers(uow, ctx, notice, lead_id=lead.id, chats=chats)


async def repeat_escalation(uow: UnitOfWork, ctx: Context, *, lead_id: int) -> bool:
    """Tell the managers again about a lead still unassigned one `offer_timeout` later.

    Repeats up to `escalation_repeats` times; True if a reminder went out.
    """
    lead = await uow.leads.lock(lead_id)
    if lead is None or lead.status is not DispatchStatus.UNASSIGNED:
        return False
    policy = await ctx.policies.get(uow, lead.policy_version)
    now = ctx.now()
    sent = await uow.leads.escalation_state(lead.id)
    if sent is None or sent[0] > policy.escalation_repeats:
        return False
    count, last = sent
    if last + policy.offer_timeout > now:
        return False
    if not await uow.leads.cas(
        lead.id, expect={"escalations": count}, now=now, escalated_at=now, escalations=count + 1
    ):
        return False
    notice = await _notice(
        uow,
        ctx,
        lead,
        f"still unassigned (notice {count + 1})",
        f"Lead {lead.public_id} is still waiting for a partner",
    )
    await notify_managers(uow, ctx, notice, lead_id=lead.id)
    await uow.events.append(
        lead.id,
        EventKind.ESCALATED,
        actor=Actor.system("escalation"),
        source=Source.TIMER,
        at=now,
        notice=count + 1,
    )
    await uow.commit()
    return True
