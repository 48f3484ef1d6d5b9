"""The managers' daily digest: yesterday's leads and answers, and what is waiting now."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select

from bot.domain.durations import format_duration
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferMode, OfferStatus
from bot.messaging import Notice
from bot.reports.funnel import nearest_rank
from bot.reports.funnel_sql import accepted_offer
from bot.store.tables import leads, offers
from bot.store.uow import UnitOfWork


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


async def build_digest(
    uow: UnitOfWork,
    *,
    day: str,
    start: datetime,
    end: datetime,
    now: datetime,
    stale_after: timedelta,
) -> Notice:
    """Figures for [start, end) (yesterday, local) plus stale and unassigned leads now."""
    received = (
        await uow.execute(
            select(func.count())
            .select_from(leads)
            .where(leads.c.received_at >= start, leads.c.received_at < end)
        )
    ).scalar_one()
    # as the funnel counts them: an accept a manager took back later was an accept
    answer = case((accepted_offer(), OfferStatus.ACCEPTED.value), else_=offers.c.status)
    answered = {
        OfferStatus(row[0]): row[1]
        for row in await uow.execute(
            select(answer, func.count())
            .where(
                offers.c.responded_at >= start,
                offers.c.responded_at < end,
                offers.c.mode != OfferMode.MANUAL,
                or_(
                    accepted_offer(),
                    offers.c.status.in_([OfferStatus.DECLINED, OfferStatus.EXPIRED]),
                ),
            )
            .group_by(answer)
        )
    }
    waits: dict[int, int] = {}  # seconds to accept -> how many, for the nearest-rank median
    for r in await uow.execute(
        select(offers.c.delivered_at, offers.c.responded_at).where(
            offers.c.responded_at >= start,
            offers.c.responded_at < end,
            accepted_offer(),
            offers.c.mode != OfferMode.MANUAL,
            offers.c.delivered_at.is_not(None),
        )
    ):
        seconds = round((r.responded_at - r.delivered_at).total_seconds())
        waits[seconds] = waits.get(seconds, 0) + 1
    stale = (
        await uow.execute(
            select(func.count())
            .select_from(leads)
            .where(
                leads.c.status == DispatchStatus.ACCEPTED,
                leads.c.stage_changed_at <= now - stale_after,
            )
        )
    ).scalar_one()
    unassigned = list(
        (
            await uow.execute(
                select(leads.c.public_id)
                .where(leads.c.status == DispatchStatus.UNASSIGNED)
                .order_by(leads.c.received_at)
            )
        ).scalars()
    )
    total = sum(answered.values())
    accepted = answered.get(OfferStatus.ACCEPTED, 0)
    rate = f"{accepted / total:.0%} ({accepted} of {total} answered offers)" if total else "-"
    p50 = nearest_rank(waits, 50)
    median = _minutes(p50) if p50 is not None else "-"
    shown = ", ".join(unassigned[:5]) + (" ..." if len(unassigned) > 5 else "")
    return Notice(
        title=f"Leadbot digest for {day}",
        lines=[
            f"Leads received yesterday: {received}",
            f"Acceptance rate: {rate}",
            f"Median time to accept: {median}",
            f"Declined: {answered.get(OfferStatus.DECLINED, 0)} · "
            f"expired: {answered.get(OfferStatus.EXPIRED, 0)}",
            f"Stale (no update for {format_duration(stale_after)}): {stale}",
            f"Unassigned now: {len(unassigned)}" + (f" ({shown})" if unassigned else ""),
        ],
    )
