"""The outbox sender: delivers queued chat effects after commit, with retries and backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.dispatch import record_delivery, record_failure
from bot.dispatch.context import Context, ReadyCard
from bot.dispatch.rendering import render_offer
from bot.domain.offers import OfferStatus
from bot.messaging import DeliveryError, MessageRef, Messenger, Notice, OfferCard, Target
from bot.pacer import Pacer
from bot.store.outbox import OutboxItem, OutboxKind
from bot.store.pacing import Slot
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork
from bot.webhooks import WebhookPoster

log = logging.getLogger(__name__)

SENDABLE = (OfferStatus.PENDING, OfferStatus.ACCEPTED)
DOWN_AFTER = 3  # failed tries in a row before a webhook endpoint counts as down


class OutboxSender:
    """Claims due outbox rows (SKIP LOCKED on PostgreSQL), sends them, records the outcome."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        ctx: Context,
        messengers: Mapping[str, Messenger],
        *,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
        poll_interval: float = 1.0,
        max_attempts: int = 8,
        max_backoff: float = 300.0,
    ) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._messengers = messengers
        self._batch, self._lease, self._poll = batch, lease, poll_interval
        self._max_attempts, self._max_backoff = max_attempts, max_backoff
        self.claim = secrets.token_hex(8)  # express items are queued leased to this sender
        self.lease = lease
        self._express: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._webhooks: WebhookPoster | None = None
        self.failing_webhooks: dict[str, str] = {}  # url -> last error, while it is down
        self._stopping = False
        self.pacer = Pacer(messengers, ctx.now)

    async def reserve(self, uow: UnitOfWork, dest: Destination) -> Slot | None:
        return await self.pacer.reserve(uow, dest)

    def poke(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the pass under way, then return from `run`."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped."""
        self._stopping = False
        while not self._stopping:
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox pass failed; retrying")
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()
        if self._express:  # cards already on their way finish and are recorded
            await asyncio.wait(set(self._express))

    def send(self, cards: list[ReadyCard]) -> None:
        """The express lane: send cards drawn and claimed by a commit that just happened."""
        task = asyncio.create_task(self._send_ready(cards))
        self._express.add(task)
        task.add_done_callback(self._express.discard)

    async def _send_ready(self, cards: list[ReadyCard]) -> None:
        lanes: dict[int, list[ReadyCard]] = defaultdict(list)
        for ready in cards:
            lanes[ready.destination.id].append(ready)

        async def lane(queued: list[ReadyCard]) -> None:
            for r in queued:
                try:
                    if not await self._still_ours(r):
                        continue  # the claim ran out meanwhile and another sender has it
                    await self._deliver(r.item, r.destination, None, r.card, r.shown, slot=r)
                except Exception:
                    log.exception("outbox item %s failed unexpectedly", r.item.id)

        await asyncio.gather(*(lane(q) for q in lanes.values()))

    async def drain_once(self) -> int:
        """Claim one batch and process it; returns how many items were handled."""
        async with self._uow() as uow:
            items = await uow.outbox.claim_due(
                now=self._ctx.now(), lease=self._lease, limit=self._batch
            )
            await uow.commit()
        lanes: dict[object, list[OutboxItem]] = defaultdict(list)
        for item in items:  # one lane per chat keeps each chat's messages in order
            lanes[item.destination_id].append(item)
        await asyncio.gather(*(self._lane(lane) for lane in lanes.values()))
        return len(items)

    async def _lane(self, items: list[OutboxItem]) -> None:
        for item in items:
            try:
                await self.process(item)
            except Exception:
                log.exception("outbox item %s failed unexpectedly", item.id)

    async def _still_ours(self, ready: ReadyCard) -> bool:
        """Renew an express claim that is half gone (a slow commit or a queue of sends) so no
        other sender can pick the item up while this one sends it."""
        now = self._ctx.now()
        if now < ready.leased_until - self.lease / 2:
            return True
        async with self._uow() as uow:
            if not await uow.outbox.renew(ready.item, until=now + self.lease):
                return False
            await uow.commit()
        return True

    async def _prepare(
        self, item: OutboxItem
    ) -> tuple[
        Destination | None, MessageRef | None, OfferCard | Notice | None, OfferStatus | None
    ]:
        """What to send where, drawn from the state now; no content means nothing to send."""
        async with self._uow() as uow:
            if not await uow.outbox.renew(item, until=self._ctx.now() + self._lease):
                return None, None, None, None  # not ours any more: another sender has it
            await uow.commit()
        async with self._uow() as uow:
            ref = None
            if item.kind is OutboxKind.UPDATE:
                row = await uow.offers.get_message(item.offer_message_id or 0)
                if row is None:
                    return None, None, None, None
                ref = MessageRef(row.chat_id, row.message_id)
                dest = await uow.partners.get_destination(row.destination_id)
            else:
                dest = await uow.partners.get_destination(item.destination_id or 0)
            if dest is None:
                return None, None, None, None
            if item.kind is OutboxKind.NOTICE:
                return dest, None, Notice.from_payload(item.payload), None
            offer = await uow.offers.get(item.offer_id or 0)
            if offer is None or (item.kind is OutboxKind.OFFER and offer.status not in SENDABLE):
                return dest, None, None, None  # answered before it was ever shown: nothing to post
            card = await render_offer(
                uow, self._ctx, offer_id=offer.id, platform=dest.platform, reader=dest.member_id
            )
            return dest, ref, card, offer.status

    async def _post_webhook(self, item: OutboxItem) -> None:
        async with self._uow() as uow:
            if not await uow.outbox.renew(item, until=self._ctx.now() + self._lease):
                return  # not ours any more
            await uow.commit()
        if self._webhooks is None:
            self._webhooks = WebhookPoster()
        url = str(item.payload.get("url"))
        try:
            await self._webhooks.post(item.payload)
        except DeliveryError as exc:
            await self._failed(item, None, exc)
            if item.attempts + 1 >= DOWN_AFTER and url not in self.failing_webhooks:
                self.failing_webhooks[url] = exc.reason
                await self._report_down(url, exc.reason)
            return
        self.failing_webhooks.pop(url, None)
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
        if self._webhooks is not None:
            await self._webhooks.close()
            self._webhooks = None

    async def process(self, item: OutboxItem) -> None:
        """Send one item and record what happened."""
        if item.kind is OutboxKind.WEBHOOK:
            await self._post_webhook(item)
            return
        dest: Destination | None = None
        try:
            dest, ref, content, shown = await self._prepare(item)
        except Exception as exc:  # a bug or a lost database: retry, never lose the item
            log.warning("outbox item %s could not be prepared: %r", item.id, exc)
            await self._failed(item, dest, DeliveryError(repr(exc), permanent=False))
            return
        if content is None:
            async with self._uow() as uow:
                await uow.outbox.finish(item, status="skipped", now=self._ctx.now())
                await uow.commit()
            return
        assert dest is not None
        await self._deliver(item, dest, ref, content, shown)

    async def _deliver(
        self,
        item: OutboxItem,
        dest: Destination,
        ref: MessageRef | None,
        content: OfferCard | Notice,
        shown: OfferStatus | None,
        *,
        slot: ReadyCard | None = None,
    ) -> None:
        """Hand `content` to the chat, at its pace, and record the outcome. An express card
        (`slot`) had its pacing slot reserved in the transaction that queued it."""
        try:
            messenger = self._messengers.get(dest.platform)
            if messenger is None:
                raise DeliveryError(f"{dest.platform} is not configured", permanent=True)
            if slot is not None:
                at = slot.slot
            else:
                reserved = await self._paced(item, dest)
                if reserved is not None and reserved.at is None:
                    return  # the chat is busy: the item is back in the outbox until it is free
                at = reserved.at if reserved is not None else None
            await self.pacer.wait(dest, at)
            target = Target(dest.platform, dest.team, dest.chat_id)
            if item.kind is OutboxKind.UPDATE:
                assert ref is not None and isinstance(content, OfferCard)
                await messenger.edit_offer(target, ref, content)
            elif isinstance(content, Notice):
                ref = await messenger.send_notice(target, content)
            else:
                ref = await messenger.send_offer(target, content)
        except DeliveryError as exc:
            await self._failed(item, dest, exc)
            return
        except Exception as exc:  # a bug or a network error: retry, never lose the item
            log.warning("outbox item %s failed: %r", item.id, exc)
            await self._failed(item, dest, DeliveryError(repr(exc), permanent=False))
            return
        assert ref is not None
        log.debug(
            "outbox item %s (%s) sent to %s %s", item.id, item.kind, dest.platform, dest.chat_id
        )
        async with self._uow() as uow:
            await record_delivery(uow, self._ctx, item=item, destination=dest, ref=ref, shown=shown)

    async def _paced(self, item: OutboxItem, dest: Destination) -> Slot | None:
        """Reserve the chat's next slot (None: the chat is not paced). A slot further off
        than a sender waits comes back without a time, and the item is put back until then."""
        async with self._uow() as uow:
            slot = await self.pacer.reserve(uow, dest)
            if slot is not None and slot.at is None:
                await uow.outbox.retry_later(
                    item,
                    at=datetime.fromtimestamp(slot.free_at, UTC),
                    error="waiting for the chat's rate limit",
                    counts=False,
                )
            await uow.commit()
        return slot

    async def _failed(self, item: OutboxItem, dest: Destination | None, exc: DeliveryError) -> None:
        attempts = item.attempts + 1
        rate_limited = exc.retry_after is not None and not exc.permanent
        platform = dest.platform if dest else item.kind.value
        self._ctx.observe.send_error(platform, permanent=exc.permanent)
        # a CRM down for hours must still get every event: webhooks keep trying far longer
        budget = self._max_attempts * 4 if item.kind is OutboxKind.WEBHOOK else self._max_attempts
        async with self._uow() as uow:
            if exc.permanent or (attempts >= budget and not rate_limited):
                log.warning("giving up on outbox item %s: %s", item.id, exc.reason)
                await record_failure(
                    uow,
                    self._ctx,
                    item=item,
                    destination=dest,
                    reason=exc.reason,
                    gone=exc.gone,
                    team_wide=exc.team_wide,
                )
                return
            delay = min(exc.retry_after or 2.0 ** (attempts - 1), self._max_backoff)
            if rate_limited and dest is not None:  # the whole chat waits, not just this item
                await self.pacer.hold(uow, dest, delay)
            await uow.outbox.retry_later(
                item,
                at=self._ctx.now() + timedelta(seconds=delay),
                error=exc.reason,
                counts=not rate_limited,  # a rate limit says "later", not "broken"
            )
            await uow.commit()
