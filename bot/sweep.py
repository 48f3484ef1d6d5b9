"""The sweep: the database is the source of truth for timers; this catches whatever is due.

Run every `LEADBOT_SWEEP_INTERVAL` seconds on every instance. Each item is claimed in its own
transaction (the lead row with FOR UPDATE SKIP LOCKED on PostgreSQL) and handled by the same
compare-and-set use case a timer would call, so nothing is handled twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.dispatch import expire_offer, route_lead
from bot.dispatch.context import Context
from bot.dispatch.digest import send_digest
from bot.dispatch.escalation import repeat_escalation
from bot.dispatch.passing_on import pass_on_retired
from bot.dispatch.reminders import remind_offer
from bot.dispatch.stale import check_stale
from bot.domain.actors import Actor, Source
from bot.domain.leads import DispatchStatus
from bot.periodic import Every
from bot.retention import Retention
from bot.store.outage import database_unavailable
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

# a lead still `new` this long after it arrived was stored but never routed (a crash in between)
STRANDED_AFTER = timedelta(seconds=10)
# sent and skipped outbox items are kept a week (what went where, to look back on), then go:
# the offers, their messages and the audit log keep the record
KEEP_DONE = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)  # given up (a chat gone, a CRM dead for days): kept longer
CLEAR_EVERY = timedelta(hours=1)
CLEAR_BATCH, CLEAR_BATCHES = 5000, 10  # rows a transaction, transactions a pass


@dataclass
class SweepResult:
    expired: int = 0
    reminded: int = 0
    routed: int = 0
    escalated: int = 0
    withdrawn: int = 0  # pending offers to partners taken out of leadbot.yaml, passed on
    stale: dict[str, int] = field(default_factory=dict)
    digest: bool = False
    purged: int = 0  # leads whose contact retention_days purged
    cleared: int = 0  # outbox items done long ago, deleted

    def __bool__(self) -> bool:
        return bool(
            self.expired
            or self.reminded
            or self.routed
            or self.escalated
            or self.withdrawn
            or self.stale
            or self.digest
            or self.purged
            or self.cleared
        )


class Sweeper:
    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], ctx: Context, *, batch: int = 1000
    ) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._batch = batch
        self._retention = Retention(uow_factory, ctx)
        self._clearing = Every(CLEAR_EVERY)

    async def sweep(self) -> SweepResult:
        """One pass over everything time-driven."""
        result = SweepResult()
        async with self._uow() as uow:
            version = await uow.config.current_version()
        if version is not None:
            self._ctx.hooks.applied(version)
        result.expired = await self._claimed(reminders=False)
        result.reminded = await self._claimed(reminders=True)
        result.withdrawn = await self._pass_on_retired()
        result.routed = await self._route_waiting()
        result.escalated = await self._repeat_escalations()
        result.stale = await self._stale()
        try:
            async with self._uow() as uow:
                result.digest = await send_digest(uow, self._ctx) is not None
        except Exception as exc:
            if database_unavailable(exc):
                raise  # the whole pass waits for the database: one line, from the scheduler
            log.exception("sweep: the daily digest failed; the next pass retries")
        try:
            result.purged = await self._retention.run()
        except Exception:
            log.exception("sweep: the retention pass failed; the next pass retries")
        try:
            result.cleared = await self._clear_outbox()
        except Exception:
            log.exception("sweep: clearing old outbox items failed; the next pass retries")
        if result:
            log.info("sweep: %s", result)
        return result

    async def _clear_outbox(self) -> int:
        """Hourly: delete outbox items sent or skipped over `KEEP_DONE` ago, and those given
        up over `KEEP_FAILED` ago, in short transactions; a backlog goes on at the next pass."""
        now = self._ctx.now()
        if not self._clearing.due(now):
            return 0
        cleared, n = 0, CLEAR_BATCH
        for _ in range(CLEAR_BATCHES):
            async with self._uow() as uow:
                n = await uow.outbox.purge_done(
                    before=now - KEEP_DONE, failed_before=now - KEEP_FAILED, limit=CLEAR_BATCH
                )
                await uow.commit()
            cleared += n
            if n < CLEAR_BATCH:
                break
        self._clearing.ran(now, backlog=n >= CLEAR_BATCH)
        return cleared

    async def _claimed(self, *, reminders: bool) -> int:
        handled = 0
        failed: set[int] = set()  # skipped for the rest of this pass, so the others go on
        for _ in range(self._batch):
            offer_id = None
            try:
                async with self._uow() as uow:
                    offer_id = await uow.offers.claim_due(
                        now=self._ctx.now(), reminders=reminders, skip=failed
                    )
                    if offer_id is None:
                        break
                    if reminders:
                        handled += await remind_offer(uow, self._ctx, offer_id=offer_id)
                    else:
                        handled += await expire_offer(uow, self._ctx, offer_id=offer_id)
            except Exception as exc:
                if database_unavailable(exc):
                    raise
                log.exception("sweep: offer %s failed; the next pass retries it", offer_id)
                if offer_id is None:
                    break
                failed.add(offer_id)
        return handled

    async def _each(
        self, ids: list[int], handle: Callable[[UnitOfWork, int], Any], *, what: str = "lead"
    ) -> list[Any]:
        """Handle leads (or offers) one transaction each; one failing does not stop the others."""
        results = []
        for item_id in ids:
            try:
                async with self._uow() as uow:
                    results.append(await handle(uow, item_id))
            except Exception as exc:
                if database_unavailable(exc):
                    raise
                log.exception("sweep: %s %s failed", what, item_id)
        return results

    async def _pass_on_retired(self) -> int:
        async with self._uow() as uow:
            pending = await uow.offers.list_pending_of_retired(limit=self._batch)
        moved = await self._each(
            pending,
            lambda uow, offer_id: pass_on_retired(uow, self._ctx, offer_id=offer_id),
            what="offer",
        )
        return sum(moved)

    async def _route_waiting(self) -> int:
        now = self._ctx.now()
        async with self._uow() as uow:
            waiting = await uow.leads.list_stranded(received_before=now - STRANDED_AFTER, now=now)
            waiting += [i for i in await uow.leads.list_due_holds(now=now) if i not in waiting]
        routed = await self._each(
            waiting,
            lambda uow, lead_id: route_lead(
                uow, self._ctx, lead_id=lead_id, actor=Actor.system("sweep"), source=Source.SYSTEM
            ),
        )
        return len(routed)

    async def _repeat_escalations(self) -> int:
        now, due = self._ctx.now(), []
        async with self._uow() as uow:
            for version in await uow.leads.list_versions(status=DispatchStatus.UNASSIGNED):
                policy = await self._ctx.policies.get(uow, version)
                due += await uow.leads.list_escalation_due(
                    version=version,
                    cutoff=now - policy.offer_timeout,
                    max_notices=policy.escalation_repeats,
                )
        sent = await self._each(
            due, lambda uow, lead_id: repeat_escalation(uow, self._ctx, lead_id=lead_id)
        )
        return sum(sent)

    async def _stale(self) -> dict[str, int]:
        now, due = self._ctx.now(), []
        async with self._uow() as uow:
            for version in await uow.leads.list_versions(status=DispatchStatus.ACCEPTED):
                policy = await self._ctx.policies.get(uow, version)
                due += await uow.leads.list_stale_due(
                    version=version, cutoff=now - policy.stale_after
                )
        done: dict[str, int] = {}
        for what in await self._each(
            due, lambda uow, lead_id: check_stale(uow, self._ctx, lead_id=lead_id)
        ):
            if what:
                done[what] = done.get(what, 0) + 1
        return done
