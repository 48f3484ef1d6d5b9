"""One outbox item through its chat: drawn from the state now, paced, posted (or found, when an
earlier try may have arrived), and the outcome recorded: delivered, retried later, or given up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.dispatch import record_delivery, record_failure
from bot.dispatch.context import Context, ReadyCard
from bot.dispatch.rendering import render_offer
from bot.domain.offers import OfferStatus
from bot.messaging import (
    DeliveryError,
    FindsSent,
    MessageRef,
    Messenger,
    Notice,
    OfferCard,
    Target,
)
from bot.outbox_retry import RetryPolicy
from bot.outbox_webhooks import WebhookItems
from bot.pacer import Pacer
from bot.store.outage import database_unavailable
from bot.store.outbox import OutboxItem, OutboxKind
from bot.store.pacing import Slot
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

SENDABLE = (OfferStatus.PENDING, OfferStatus.ACCEPTED)
FIRST_PAUSE = 0.25  # seconds before recording a delivery is tried again (it doubles, up to 4)
Prepared = tuple[
    Destination | None, MessageRef | None, OfferCard | Notice | None, OfferStatus | None
]


class Delivery:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        ctx: Context,
        messengers: Mapping[str, Messenger],
        *,
        pacer: Pacer,
        retry: RetryPolicy,
        lease: timedelta,
        webhooks: WebhookItems,
    ) -> None:
        self._uow, self._ctx, self._messengers = uow_factory, ctx, messengers
        self.pacer, self.retry, self._lease, self.webhooks = pacer, retry, lease, webhooks

    async def _prepare(self, item: OutboxItem) -> Prepared:
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
                uow,
                self._ctx,
                offer_id=offer.id,
                platform=dest.platform,
                reader=dest.member_id,
                chat_active=dest.active,
            )
            return dest, ref, card, offer.status

    async def process(self, item: OutboxItem) -> float | None:
        """Send one item and record what happened; seconds the chat now waits, if it does."""
        if item.kind is OutboxKind.WEBHOOK:  # seconds its endpoint waits, as a chat's
            return await self.webhooks.post(
                item, lambda: self._ctx.now() + self._lease, lambda i, e: self._failed(i, None, e)
            )
        dest: Destination | None = None
        leased_until = self._ctx.now() + self._lease  # what `_prepare` renews the lease to
        try:
            dest, ref, content, shown = await self._prepare(item)
        except Exception as exc:
            if database_unavailable(exc):
                raise  # nothing can be recorded either: the lease brings the item back
            log.warning("outbox item %s could not be prepared: %r", item.id, exc)
            return await self._failed(item, dest, DeliveryError(repr(exc), permanent=False))
        if content is None:
            if item.kind is OutboxKind.OFFER and dest is not None and await self._adopt(item, dest):
                return None
            async with self._uow() as uow:
                await uow.outbox.finish(item, status="skipped", now=self._ctx.now())
                await uow.commit()
            return None
        assert dest is not None
        return await self.deliver(item, dest, ref, content, shown, leased_until=leased_until)

    async def deliver(
        self,
        item: OutboxItem,
        dest: Destination,
        ref: MessageRef | None,
        content: OfferCard | Notice,
        shown: OfferStatus | None,
        slot: ReadyCard | None = None,
        *,
        leased_until: datetime,
    ) -> float | None:
        """Hand `content` to the chat, at its pace, and record the outcome; seconds the chat
        waits now (an outage or a rate limit), if it does. An express card (`slot`) had its
        pacing slot reserved in the transaction that queued it. `leased_until`: when this
        sender's claim on the item runs out, unless renewed."""
        messenger = self._messengers.get(dest.platform)
        if messenger is None:
            missing = DeliveryError(f"{dest.platform} is not configured", permanent=True)
            return await self._failed(item, dest, missing)
        if slot is not None:
            at = slot.slot
        else:
            reserved = await self._paced(item, dest)
            if reserved is not None and reserved.at is None:
                return None  # the chat is busy: the item is back in the outbox until then
            at = reserved.at if reserved is not None else None
        await self.pacer.wait(dest, at)
        if not await self._still_held(item, leased_until):
            return None  # it took so long that the claim ran out: another sender has it now
        try:
            target = Target(dest.platform, dest.team, dest.chat_id)
            if item.kind is OutboxKind.UPDATE:
                assert ref is not None and isinstance(content, OfferCard)
                await messenger.edit_offer(target, ref, content)
            else:
                ref = await self._post(messenger, target, item, content)
        except DeliveryError as exc:
            return await self._failed(item, dest, exc)
        except Exception as exc:  # a bug or a network error: retry, never lose the item
            log.warning("outbox item %s failed: %r", item.id, exc)
            return await self._failed(item, dest, DeliveryError(repr(exc), permanent=False))
        assert ref is not None
        await self._record(item, dest, ref, shown)
        return None

    async def _still_held(self, item: OutboxItem, leased_until: datetime) -> bool:
        """Right before the send: is the claim still ours? Asked only when a good part of the
        lease went by (a busy process, a long wait for the chat's pace), else taken as yes:
        a claim that ran out has been taken by another sender, which sends it instead."""
        now = self._ctx.now()
        if now < leased_until - self._lease * 3 / 4:
            return True
        async with self._uow() as uow:
            if not await uow.outbox.renew(item, until=now + self._lease):
                return False
            await uow.commit()
        return True

    async def _post(
        self, messenger: Messenger, target: Target, item: OutboxItem, content: OfferCard | Notice
    ) -> MessageRef:
        """Post a card or notice. Where the platform can look messages up by key (Slack), each
        post carries the item's key, and a try that may have arrived already is looked for
        first, so a lost answer does not make the message show twice."""
        if not isinstance(messenger, FindsSent):
            if isinstance(content, Notice):
                return await messenger.send_notice(target, content)
            return await messenger.send_offer(target, content)
        key = str(item.id)
        if item.maybe_sent:
            found = await messenger.find_sent(target, key)
            if found is not None:
                log.info("outbox item %s had arrived after all; not posted again", item.id)
                return found
        if isinstance(content, Notice):
            return await messenger.send_notice(target, content, key=key)
        return await messenger.send_offer(target, content, key=key)

    async def _adopt(self, item: OutboxItem, dest: Destination) -> bool:
        """A card answered before it was shown may still have arrived on an earlier, unsure
        try: if the platform has it, record it (it is then edited like any copy)."""
        messenger = self._messengers.get(dest.platform)
        if not (item.maybe_sent and isinstance(messenger, FindsSent)):
            return False
        try:
            found = await messenger.find_sent(
                Target(dest.platform, dest.team, dest.chat_id), str(item.id)
            )
        except DeliveryError as exc:
            await self._failed(item, dest, exc)
            return True
        if found is None:
            return False
        await self._record(item, dest, found, None)
        return True

    async def _record(
        self, item: OutboxItem, dest: Destination, ref: MessageRef, shown: OfferStatus | None
    ) -> None:
        """Record a delivery. The message is out: a database that is briefly away (a restart)
        is waited for, within the lease, rather than letting the item lapse and go out twice."""
        deadline = time.monotonic() + self._lease.total_seconds() / 2
        pause = FIRST_PAUSE
        while True:
            try:
                async with self._uow() as uow:
                    await record_delivery(
                        uow, self._ctx, item=item, destination=dest, ref=ref, shown=shown
                    )
                return
            except Exception as exc:
                if not database_unavailable(exc) or time.monotonic() + pause > deadline:
                    raise
                if pause == FIRST_PAUSE:
                    log.warning(
                        "outbox item %s was sent; recording it waits for the database", item.id
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 4.0)

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

    async def _failed(
        self, item: OutboxItem, dest: Destination | None, exc: DeliveryError
    ) -> float | None:
        """Record a failed try: given up (permanent, or out of patience) or due again later.
        Returns the seconds the whole chat (a webhook: its endpoint) now waits (an outage or a
        rate limit), if it does."""
        now = self._ctx.now()
        platform = dest.platform if dest else item.kind.value
        self._ctx.observe.send_error(platform, permanent=exc.permanent)
        async with self._uow() as uow:
            if self.retry.gives_up(item, exc, now=now):
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
                return None
            delay = self.retry.delay(item, exc)
            rate_limited = exc.retry_after is not None
            whole_chat = rate_limited or exc.outage
            if whole_chat and dest is not None:  # the chat waits, across instances
                await self.pacer.hold(uow, dest, delay)
            await uow.outbox.retry_later(
                item,
                at=now + timedelta(seconds=delay),
                error=exc.reason,
                counts=not rate_limited,  # a rate limit says "later", not "broken"
                maybe_sent=exc.outage,  # no answer: it may have arrived all the same
            )
            await uow.commit()
        return delay if whole_chat else None
