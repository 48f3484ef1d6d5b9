"""Offer timers on APScheduler 3 (a latency hint) backed by database sweeps (the truth)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.dispatch import expire_offer
from bot.dispatch.context import Context
from bot.dispatch.reminders import remind_offer
from bot.store.outage import database_unavailable
from bot.store.uow import UnitOfWork
from bot.sweep import Sweeper, SweepResult

log = logging.getLogger(__name__)


def _failed(exc: Exception, message: str, *args: object) -> None:
    """A trace for a bug; one line when the database is simply away (a restart)."""
    if database_unavailable(exc):
        log.warning(message + " (the database is unavailable: %s)", *args, type(exc).__name__)
    else:
        log.exception(message, *args)


def job_id(offer_id: int) -> str:
    return f"offer-expiry:{offer_id}"


def reminder_id(offer_id: int) -> str:
    return f"offer-reminder:{offer_id}"


class Scheduler:
    """One job per offer window and per reminder; a periodic sweep catches what a job missed."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        ctx: Context,
        *,
        sweep_interval: float,
        concurrency: int = 8,
    ) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._sweep_interval = sweep_interval
        self._sweeper = Sweeper(uow_factory, ctx)
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[Any]] = set()
        # Timers due together (thousands, after a restart) take turns: unbounded, they would
        # all wait for a database connection at once and time out, and starve the HTTP side.
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = False

    async def _job(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Every job runs through here, so `stop` can let the ones under way finish."""
        if func == self._sweep_logged:
            await self._tracked(func, *args)
            return
        async with self._slots:
            if not self._stopping:  # those still waiting at a stop are left to the sweep
                await self._tracked(func, *args)

    async def _tracked(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await func(*args)
        finally:
            self._running.discard(task)

    def _add(
        self, name: str, at: datetime, func: Callable[[int], Awaitable[None]], oid: int
    ) -> None:
        self._aps.add_job(
            self._job,
            "date",
            run_date=at,
            id=name,
            args=[func, oid],
            replace_existing=True,
            misfire_grace_time=None,
        )

    def arm(self, offer_id: int, at: datetime) -> None:
        """(Re)arm the expiry timer of one offer; idempotent by job id."""
        self._add(job_id(offer_id), at, self._expire, offer_id)

    def remind(self, offer_id: int, at: datetime) -> None:
        """(Re)arm the reminder of one offer."""
        self._add(reminder_id(offer_id), at, self._remind, offer_id)

    def disarm(self, offer_id: int) -> None:
        """The offer was answered: stop its timer and its reminder."""
        for name in (job_id(offer_id), reminder_id(offer_id)):
            with contextlib.suppress(JobLookupError):
                self._aps.remove_job(name)

    def armed(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    async def _expire(self, offer_id: int) -> None:
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
        except Exception as exc:
            _failed(exc, "expiry of offer %s failed; the sweep will retry", offer_id)

    async def _remind(self, offer_id: int) -> None:
        try:
            async with self._uow() as uow:
                await remind_offer(uow, self._ctx, offer_id=offer_id)
        except Exception as exc:
            _failed(exc, "reminder for offer %s failed; the sweep will retry", offer_id)

    async def _sweep_logged(self) -> None:
        try:
            await self.sweep()
        except Exception as exc:
            _failed(exc, "sweep failed; the next one will retry")

    async def start(self) -> int:
        """Start timers and re-arm every pending offer from the database; returns how many."""
        self._stopping = False
        async with self._uow() as uow:
            armed = await uow.offers.list_armed()
            reminders = await uow.offers.list_reminders()
        for offer_id, at in armed:
            self.arm(offer_id, at)
        for offer_id, at in reminders:
            self.remind(offer_id, at)
        self._aps.add_job(
            self._job,
            "interval",
            args=[self._sweep_logged],
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

    async def stop(self, *, grace: float = 15.0) -> None:
        """Fire nothing new, let the jobs under way finish (bounded), then shut down.

        Cancelling a job in the middle of a transaction could leave a connection waiting on a
        lock its own process holds; letting it finish is quick and leaves the database tidy.
        """
        if not self._aps.running:
            return
        self._stopping = True
        self._aps.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace)
        self._aps.shutdown(wait=False)

    async def sweep(self) -> SweepResult:
        """Everything time-driven that is due, from the database (safe on many instances)."""
        return await self._sweeper.sweep()
