"""Offer timers on APScheduler 3 (a latency hint) backed by database sweeps (the truth)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.dispatch import expire_offer, route_lead
from bot.dispatch.context import Context
from bot.domain.actors import Actor, Source
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

# a lead still `new` this long after it arrived was stored but never routed (a crash in between)
STRANDED_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class SweepResult:
    expired: int
    routed: int


def job_id(offer_id: int) -> str:
    return f"offer-expiry:{offer_id}"


class Scheduler:
    """Arms one job per offer window; a periodic sweep catches whatever a job missed."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], ctx: Context, *, sweep_interval: float
    ) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._sweep_interval = sweep_interval
        self._aps = AsyncIOScheduler(timezone=UTC)

    def arm(self, offer_id: int, at: datetime) -> None:
        """(Re)arm the expiry timer of one offer; idempotent by job id."""
        self._aps.add_job(
            self._fire,
            "date",
            run_date=at,
            id=job_id(offer_id),
            args=[offer_id],
            replace_existing=True,
            misfire_grace_time=None,
        )

    def disarm(self, offer_id: int) -> None:
        with contextlib.suppress(JobLookupError):
            self._aps.remove_job(job_id(offer_id))

    def armed(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]

    async def _fire(self, offer_id: int) -> None:
        try:
            async with self._uow() as uow:
                if await expire_offer(uow, self._ctx, offer_id=offer_id):
                    return
            async with self._uow() as uow:
                offer = await uow.offers.get(offer_id)
            # fired a hair early (clock granularity): try again at the stored deadline
            if (
                offer
                and offer.status == "pending"
                and offer.expires_at
                and offer.expires_at > self._ctx.now()
            ):
                self.arm(offer_id, offer.expires_at)
        except Exception:
            log.exception("expiry of offer %s failed; the sweep will retry", offer_id)

    async def start(self) -> int:
        """Start timers and re-arm every pending offer from the database; returns how many."""
        async with self._uow() as uow:
            armed = await uow.offers.list_armed()
        for offer_id, at in armed:
            self.arm(offer_id, at)
        self._aps.add_job(
            self.sweep,
            "interval",
            seconds=self._sweep_interval,
            id="sweep",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
        )
        self._aps.start()
        return len(armed)

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def sweep(self) -> SweepResult:
        """Expire overdue offers and route stranded new leads (safe on many instances)."""
        now = self._ctx.now()
        async with self._uow() as uow:
            due = await uow.offers.list_due(now=now)
            stranded = await uow.leads.list_stranded(received_before=now - STRANDED_AFTER, now=now)
            stranded += [i for i in await uow.leads.list_due_holds(now=now) if i not in stranded]
            await uow.commit()
        expired = 0
        for offer_id in due:
            async with self._uow() as uow:
                expired += await expire_offer(uow, self._ctx, offer_id=offer_id)
        for lead_id in stranded:
            async with self._uow() as uow:
                await route_lead(
                    uow,
                    self._ctx,
                    lead_id=lead_id,
                    actor=Actor.system("sweep"),
                    source=Source.SYSTEM,
                )
        if expired or stranded:
            log.info("sweep: %d offers expired, %d stranded leads routed", expired, len(stranded))
        return SweepResult(expired=expired, routed=len(stranded))
