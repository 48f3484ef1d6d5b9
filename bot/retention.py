"""retention_days: the contact data of finished leads is purged once they have been left alone
that long. Run by the sweep, at most once an hour per instance (at every sweep while a backlog
remains): one query lists the leads due, then each is claimed in its own transaction (FOR
UPDATE SKIP LOCKED on PostgreSQL), so several instances share the work and none purges a lead
twice.

Finished: won or lost (dispatch status `closed`), or `unassigned` (nobody took it). The age is
counted from the lead's last change. Leads still offered or with a partner are never purged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.dispatch.context import Context
from bot.dispatch.erasure import purge_contact
from bot.domain.errors import LeadbotError
from bot.periodic import Every
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

EVERY = timedelta(hours=1)
BATCH = 200  # leads per pass: a pass stays short, the sweep's timers are not held up
# a backlog (the first pass after an upgrade) redraws old cards one per 10 s per chat, so that a
# chat's new offers never queue behind a thousand edits (Slack takes about one message a second)
EDIT_GAP = timedelta(seconds=10)


class Retention:
    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], ctx: Context, *, batch: int = BATCH
    ) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._batch = batch
        self._every = Every(EVERY)
        self._edits: dict[int, datetime] = {}  # chat (destination id) -> its next free slot

    def _edit_at(self, destination_id: int) -> datetime:
        now = self._ctx.now()
        at = max(now, self._edits.get(destination_id, now))
        self._edits[destination_id] = at + EDIT_GAP
        return at

    async def _days(self) -> int | None:
        async with self._uow() as uow:
            try:
                version = (await self._ctx.policies.directory(uow)).version
            except LeadbotError:  # no configuration applied yet: nothing to go by
                return None
            return (await self._ctx.policies.config(uow, version)).retention_days

    async def run(self) -> int:
        """One pass if one is due; returns how many leads had their contact purged."""
        now = self._ctx.now()
        if not self._every.due(now):
            return 0
        days = await self._days()
        if days is None:
            return 0
        cutoff = now - timedelta(days=days)
        async with self._uow() as uow:
            due = await uow.privacy.list_expired(cutoff=cutoff, limit=self._batch)
        purged = cards = 0
        for lead_id in due:
            try:
                async with self._uow() as uow:
                    if not await uow.privacy.claim_expired(lead_id, cutoff=cutoff):
                        continue  # another instance has it, or it changed meanwhile
                    cards += await purge_contact(
                        uow, self._ctx, lead_id=lead_id, edit_at=self._edit_at
                    )
                    purged += 1
            except Exception:
                log.exception("retention: lead %s failed; the next pass retries it", lead_id)
        self._every.ran(now, backlog=len(due) >= self._batch)
        if purged:
            log.info(
                "retention: contact data purged from %d finished lead(s) unchanged for "
                "%d days (retention_days); %d card(s) to redraw",
                purged,
                days,
                cards,
            )
        return purged
