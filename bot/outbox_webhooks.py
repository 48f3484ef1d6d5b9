"""The outbox's webhook items: signed events to a CRM, and the managers told once when it is
down and once when it is back (per outage, however many instances)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.dispatch.context import Context
from bot.messaging import DeliveryError, Notice
from bot.store.outbox import OutboxItem, OutboxKind
from bot.store.uow import UnitOfWork
from bot.webhooks import WebhookPoster, shown

DOWN_AFTER = 3  # failed tries in a row before a webhook endpoint counts as down
GONE = "the webhook is no longer in leadbot.yaml"

Failed = Callable[[OutboxItem, DeliveryError], Awaitable[float | None]]


class WebhookItems:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], ctx: Context) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._poster: WebhookPoster | None = None

    async def post(
        self, item: OutboxItem, lease_until: Callable[[], datetime], failed: Failed
    ) -> float | None:
        """Post one event; `failed` records a failed try (and its retry), and says how long
        the endpoint now waits, if it does (no answer, 5xx, 429): returned, so the rest of its
        events are held too. An event for an endpoint no longer in leadbot.yaml is skipped:
        it was taken out, or moved."""
        url = str(item.payload.get("url"))
        async with self._uow() as uow:
            if not await uow.outbox.renew(item, until=lease_until()):
                return None  # not ours any more
            # the newest configuration, read now: an event queued by an instance that saw it
            # first must not be judged by an older one cached here
            _version, config = await self._ctx.policies.current_config(uow)
            await uow.commit()
        if url not in {w.url for w in config.webhooks}:
            async with self._uow() as uow:
                await uow.outbox.finish(item, status="skipped", now=self._ctx.now(), error=GONE)
                await uow.webhook_outages.mark_up(url)  # if it was down: nobody waits for it
                await uow.commit()
            return None
        if self._poster is None:
            self._poster = WebhookPoster()
        try:
            await self._poster.post(item.payload)
        except DeliveryError as exc:
            waits = await failed(item, exc)
            if exc.retry_after is None and item.attempts + 1 >= DOWN_AFTER:  # 429: busy, not down
                await self._down(url, exc.reason)
            return waits
        async with self._uow() as uow:
            await uow.outbox.finish(item, status="sent", now=self._ctx.now())
            # back once no event for it is still failing: one CRM refusing one lead's event
            # while taking the others is one outage, not a notice each way at every retry
            if not await uow.outbox.count_failing_webhooks(url, tried=DOWN_AFTER):
                since = await uow.webhook_outages.mark_up(url)
                if since is not None:
                    await self._tell(uow, _back(url, since, self._ctx.now()))
            await uow.commit()
        return None

    async def _down(self, url: str, reason: str) -> None:
        """Record the outage; whoever records it first tells the managers: once per outage,
        however many leads, instances or restarts."""
        async with self._uow() as uow:
            if await uow.webhook_outages.mark_down(url, error=reason, now=self._ctx.now()):
                await self._tell(uow, _failing(reason))
            await uow.commit()

    async def _tell(self, uow: UnitOfWork, notice: Notice) -> None:
        for dest in await uow.partners.list_destinations(partner_id=None):
            await uow.outbox.enqueue(
                OutboxKind.NOTICE,
                now=self._ctx.now(),
                destination_id=dest.id,
                payload=notice.to_payload(),
            )

    async def close(self) -> None:
        if self._poster is not None:
            await self._poster.close()
            self._poster = None


def _failing(reason: str) -> Notice:  # the reason names the endpoint (bot.webhooks.shown)
    return Notice(
        title="The CRM webhook is failing",
        lines=[reason, "Events are kept and sent in order once it answers again."],
    )


def _back(url: str, since: datetime, now: datetime) -> Notice:
    minutes = max(1, round((now - since).total_seconds() / 60))
    return Notice(
        title="The CRM webhook answers again",
        lines=[
            f"{shown(url)} was failing for about {minutes} min.",
            "The events kept meanwhile go out in order now.",
        ],
    )
