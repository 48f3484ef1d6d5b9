"""The offer window: when an offer expires and when its reminder goes out (the SLA clock)."""

from __future__ import annotations

from datetime import date, datetime

from bot.dispatch.context import Context
from bot.domain.hours import WeeklyHours
from bot.domain.leads import Lead
from bot.routing.hours import add_working_time, is_open, next_opening
from bot.store.uow import UnitOfWork


async def offer_window(
    uow: UnitOfWork, ctx: Context, *, lead: Lead, partner_id: int, start: datetime
) -> tuple[datetime, datetime | None]:
    """(expires_at, remind_at) for an offer delivered at `start`.

    With `business_hours_only` the window counts only the partner's working hours (Friday
    17:50 plus 30 minutes on mon-fri 08:00-18:00 is Monday 08:20). The reminder goes out
    `reminder_before` the end, counted the same way; none if the window is shorter.
    """
    policy = await ctx.policies.get(uow, lead.policy_version)
    hours: WeeklyHours = {}
    tz, holidays = "UTC", frozenset[date]()
    if policy.business_hours_only:
        directory = await ctx.policies.directory(uow, at_least=lead.policy_version)
        partner = directory.partners.get(partner_id)
        if partner is not None:
            hours, tz, holidays = partner.hours, partner.timezone, partner.holidays
    expires_at = add_working_time(hours, tz, holidays, start, policy.offer_timeout)
    remind_at = None
    if 0 < policy.reminder_before.total_seconds() < policy.offer_timeout.total_seconds():
        ahead = policy.offer_timeout - policy.reminder_before
        remind_at = add_working_time(hours, tz, holidays, start, ahead)
        if not is_open(hours, tz, holidays, remind_at):
            # landed on closing time: push the reps when they are back, before the window ends
            remind_at = next_opening(hours, tz, holidays, remind_at) or remind_at
    return expires_at, remind_at
