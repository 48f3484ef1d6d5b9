"""The outbox's webhook items: signed events to a CRM, and the managers told once when it is
down (per instance, per outage)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.dispatch.context import Context
from bot.messaging import DeliveryError, Notice
from bot.store.outbox import OutboxItem, OutboxKind
from bot.store.uow import UnitOfWork
from bot.webhooks import WebhookPoster

DOWN_AFTER = 3  # failed tries in a row before a webhook endpoint counts as down

Failed = Callable[[OutboxItem, DeliveryError], Awaitable[object]]


class WebhookItems:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], ctx: Context) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._poster: WebhookPoster | None = None
        self.failing: dict[str, str] = {}  # url -> last error, while it is down

    async def post(
        self, item: OutboxItem, lease_until: Callable[[], datetime], failed: Failed
    ) -> None:
        """Post one event; `failed` records a failed try (and its retry)."""
        async with self._uow() as uow:
            if not await uow.outbox.renew(item, until=lease_until()):
                return  # not ours any more
            await uow.commit()
        if self._poster is None:
            self._poster = WebhookPoster()
        url = str(item.payload.get("url"))
        try:
            await self._poster.post(item.payload)
        except DeliveryError as exc:
            await failed(item, exc)
            if item.attempts + 1 >= DOWN_AFTER and url not in self.failing:
                self.failing[url] = exc.reason
                await self._report_down(url, exc.reason)
            return
        self.failing.pop(url, None)
        async with self._uow() as uow:
            await uow.outbox.finish(item, status="sent", now=self._ctx.now())
            await uow.commit()

    async def _report_down(self, url: str, reason: str) -> None:
        """Tell the managers once per outage (per instance), not once per lead."""
        notice = Notice(
            title="The CRM webhook is failing",
            lines=[f"{url}: {reason}", "Events are kept and sent in order once it answers again."],
        )
        async with self._uow() as uow:
            for dest in await uow.partners.list_destinations(partner_id=None):
                await uow.outbox.enqueue(
                    OutboxKind.NOTICE,
                    now=self._ctx.now(),
                    destination_id=dest.id,
                    payload=notice.to_payload(),
                )
            await uow.commit()

    async def close(self) -> None:
        if self._poster is not None:
            await self._poster.close()
            self._poster = None
