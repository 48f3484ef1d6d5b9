"""send_digest: once a day, at the configured local time, on one instance only."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dispatch.context import Context
from bot.messaging import Notice
from bot.reports.digest import build_digest
from bot.store.outbox import OutboxKind
from bot.store.uow import UnitOfWork


async def send_digest(uow: UnitOfWork, ctx: Context) -> Notice | None:
    """Send today's digest if it is due and no instance has sent it yet; returns it if sent.

    Checked by every sweep, so a digest missed while the process was down still goes out.
    """
    version, _policy = await ctx.policies.current(uow)
    config = await ctx.policies.config(uow, version)
    if config.digest is None:
        return None
    zone = ZoneInfo(config.digest.timezone)
    now = ctx.now()
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in config.digest.time.split(":"))
    # today's digest once its time has come; before that, yesterday's (if it was missed)
    due = local.date() if local.time() >= time(hour, minute) else local.date() - timedelta(days=1)
    day = due.isoformat()
    if not await uow.config.claim_digest(day, now=now):
        return None  # this instance or another already sent it
    end = datetime.combine(due, time(0), tzinfo=zone)
    notice = await build_digest(
        uow,
        day=day,
        start=end - timedelta(days=1),
        end=end,
        now=now,
        stale_after=config.policy.stale_after,
    )
    for dest in await uow.partners.list_destinations(partner_id=None):
        await uow.outbox.enqueue(
            OutboxKind.NOTICE, now=now, destination_id=dest.id, payload=notice.to_payload()
        )
    uow.after_commit(ctx.hooks.poke)
    await uow.commit()
    return notice
