"""Accepted but not worked: nudge the partner, then tell the managers."""

from __future__ import annotations

from datetime import timedelta

from bot.cards import area
from bot.dispatch.common import notify_managers, notify_partner
from bot.dispatch.context import Context
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus
from bot.messaging import Button, Notice
from bot.store.uow import UnitOfWork


def _idle(delta: timedelta) -> str:
    """How long a lead has waited, as people say it: hours up to two days, then days."""
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours // 24:.0f} days"


async def check_stale(uow: UnitOfWork, ctx: Context, *, lead_id: int) -> str | None:
    """After `stale_after` without a stage change nudge the partner; if another `stale_after`
    passes after the nudge, tell the managers and offer them to take the lead back.
    Returns what was done ("nudged"/"alerted").
    """
    lead = await uow.leads.lock(lead_id)
    if lead is None or lead.status is not DispatchStatus.ACCEPTED or lead.partner_id is None:
        return None
    policy = await ctx.policies.get(uow, lead.policy_version)
    marks = await uow.leads.stale_marks(lead.id)
    if marks is None:
        return None
    since, nudged_at, alerted_at = marks
    now = ctx.now()
    idle = now - since
    partner = await uow.partners.get_name(lead.partner_id)
    what = f"{area(lead)} · {', '.join(lead.specialties) or 'no specialty given'}"
    actor = Actor.system("stale check")
    if nudged_at is None and idle >= policy.stale_after:
        if not await uow.leads.cas(lead.id, expect={"nudged_at": None}, now=now, nudged_at=now):
            return None
        notice = Notice(
            title=f"Lead {lead.public_id}: any news?",
            lines=[
                what,
                # its real wait: after downtime it is longer than stale_after
                f"No update for {_idle(idle)} (stage: "
                f"{lead.stage}). Tap Contacted, Qualified, ... on the card.",
            ],
            lead_ref=lead.public_id,
        )
        await notify_partner(uow, ctx, notice, partner_id=lead.partner_id, lead_id=lead.id)
        await uow.events.append(
            lead.id,
            EventKind.NUDGED,
            actor=actor,
            source=Source.TIMER,
            at=now,
            partner_id=lead.partner_id,
        )
        await uow.commit()
        return "nudged"
    if nudged_at is not None and alerted_at is None and now - nudged_at >= policy.stale_after:
        if not await uow.leads.cas(
            lead.id, expect={"stale_alerted_at": None}, now=now, stale_alerted_at=now
        ):
            return None
        notice = Notice(
            title=f"Lead {lead.public_id} is stuck with {partner}",
            lines=[
                what,
                f"No update for {_idle(idle)} despite a nudge (stage: {lead.stage}).",
                f"Take it back with the button, or: leadbot leads reassign {lead.public_id}",
            ],
            lead_ref=lead.public_id,
            buttons=[Button("Take it back", f"r:{lead.id}:{lead.partner_id}", "danger")],
        )
        await notify_managers(uow, ctx, notice, lead_id=lead.id)
        await uow.events.append(
            lead.id,
            EventKind.STALE,
            actor=actor,
            source=Source.TIMER,
            at=now,
            partner_id=lead.partner_id,
        )
        await uow.commit()
        return "alerted"
    return None
