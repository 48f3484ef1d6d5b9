"""remind_offer: push the partner's reps before an offer window closes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cards import area
from bot.dispatch.common import notify_partner
from bot.dispatch.context import Context
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.messaging import Notice
from bot.store.uow import UnitOfWork


def deadline_text(deadline: datetime, now: datetime, tz: str) -> str:
    """'in about 10 min' when it is close, else the partner's local date and time."""
    left = deadline - now
    if left <= timedelta(hours=2):
        return f"in about {max(1, round(left.total_seconds() / 60))} min"
    return f"at {deadline.astimezone(ZoneInfo(tz)):%a %d %b %H:%M} ({tz})"


async def remind_offer(uow: UnitOfWork, ctx: Context, *, offer_id: int) -> bool:
    """Send the reminder once, only while the offer is pending, the reminder due and the window
    still open."""
    offer = await uow.offers.get(offer_id)
    if offer is None:
        return False
    lead = await uow.leads.lock(offer.lead_id)
    now = ctx.now()
    if lead is None or not await uow.offers.mark_reminded(offer_id, now=now):
        return False
    directory = await ctx.policies.directory(uow, at_least=lead.policy_version)
    partner = directory.partners.get(offer.partner_id)
    when = deadline_text(offer.expires_at or now, now, partner.timezone if partner else "UTC")
    notice = Notice(
        title=f"Lead {lead.public_id} is still waiting for your answer",
        lines=[
            f"{area(lead)} · {', '.join(lead.specialties) or 'no specialty given'}",
            f"The offer closes {when}; after that it goes to someone else.",
            "Accept or Decline on the card.",
        ],
        lead_ref=lead.public_id,
    )
    await notify_partner(uow, ctx, notice, partner_id=offer.partner_id, lead_id=lead.id)
    await uow.events.append(
        lead.id,
        EventKind.REMINDED,
        actor=Actor.system("reminder"),
        source=Source.TIMER,
        at=now,
        offer_id=offer_id,
    )
    await uow.commit()
    return True
