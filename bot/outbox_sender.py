"""The outbox sender: delivers queued chat effects after commit, with retries and backoff.

One lane per chat keeps each chat's messages in order. A lane that meets a platform outage
(timeout, refused connection, 5xx) or a rate limit stops there: the rest of its items are put
back until the chat's next try, so an outage costs one probe per chat, not one per card. A pass
waits for its lanes only so long: a chat whose platform hangs does not hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.dispatch.context import Context, ReadyCard
from bot.messaging import Messenger
from bot.outbox_delivery import Delivery
from bot.outbox_retry import RetryPolicy
from bot.outbox_webhooks import WebhookItems
from bot.pacer import Pacer
from bot.store.outage import database_unavailable
from bot.store.outbox import OutboxItem
from bot.store.pacing import Slot
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)
# loop turns a card handed to the express lane needs to reach the socket: one for the lane to
# start its request, one for the HTTP client to write the body (aiohttp, under Slack's SDK,
# writes a request's body from a task of its own)
WIRE_TURNS = 2


def _lane_key(item: OutboxItem) -> int | str:
    """A chat's items share a lane, as do a webhook endpoint's (the items without a chat)."""
    return item.destination_id if item.destination_id is not None else str(item.payload["url"])


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
        retry: RetryPolicy | None = None,
        lane_wait: float = 5.0,
    ) -> None:
        self._uow = uow_factory
        self._ctx = ctx
        self._messengers = messengers
        self._batch, self._lease, self._poll = batch, lease, poll_interval
        self.retry = retry or RetryPolicy()
        self._lane_wait = lane_wait  # seconds a pass waits for its lanes
        self.claim = secrets.token_hex(8)  # express items are queued leased to this sender
        self.lease = lease
        self._express: set[asyncio.Task[None]] = set()
        # a chat's id, or a webhook's URL -> its lane under way
        self._lanes: dict[int | str, asyncio.Task[None]] = {}
        self._abandoned: list[OutboxItem] = []  # still leased to us; the database went away
        self._wake = asyncio.Event()
        self.webhooks = WebhookItems(uow_factory, ctx)
        self._stopping = False
        self.pacer = Pacer(messengers, ctx.now)
        self.delivery = Delivery(
            uow_factory,
            ctx,
            messengers,
            pacer=self.pacer,
            retry=self.retry,
            lease=lease,
            webhooks=self.webhooks,
        )

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
            except Exception as exc:
                if database_unavailable(exc):
                    log.warning("outbox pass: the database is unavailable (%r); retrying", exc)
                else:
                    log.exception("outbox pass failed; retrying")
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()
        busy = self._express | set(self._lanes.values())
        if busy:  # cards already on their way finish and are recorded
            await asyncio.wait(busy)

    def send(self, cards: list[ReadyCard]) -> None:
        """The express lane: send cards drawn and claimed by a commit that just happened."""
        task = asyncio.create_task(self._send_ready(cards))
        self._express.add(task)
        task.add_done_callback(self._express.discard)

    async def on_the_wire(self) -> None:
        """Give the express lane the loop turns it needs to put cards just handed to it on the
        wire, before the caller goes on (reads the answer to a new lead, say): the card first.
        Costs nothing when no card is on its way; never waits for a chat's answer, nor for a
        connection to be opened (every pooled one busy): that card goes out a little later."""
        for _ in range(WIRE_TURNS):
            if not self._express:
                return
            await asyncio.sleep(0)

    async def _send_ready(self, cards: list[ReadyCard]) -> None:
        lanes: dict[int, list[ReadyCard]] = defaultdict(list)
        for ready in cards:
            lanes[ready.destination.id].append(ready)

        async def lane(queued: list[ReadyCard]) -> None:
            for i, r in enumerate(queued):
                try:
                    if not await self._still_ours(r):
                        continue  # the claim ran out meanwhile and another sender has it
                    held = await self.delivery.deliver(
                        r.item, r.destination, None, r.card, r.shown, r, leased_until=r.leased_until
                    )
                except Exception as exc:
                    self._unexpected(r.item, exc)
                    if database_unavailable(exc):  # given back as soon as the database is
                        self._abandoned += [q.item for q in queued[i:]]
                    return
                if held is not None:
                    await self._hold_rest([q.item for q in queued[i + 1 :]], held)
                    return

        if len(lanes) == 1:  # the usual case: started now, not on the loop's next turn
            await lane(next(iter(lanes.values())))
        else:
            await asyncio.gather(*(lane(q) for q in lanes.values()))

    async def drain_once(self) -> int:
        """Claim one batch and process it; returns how many items were claimed. Waits for the
        lanes up to `lane_wait`; a slower one goes on, and its chat is left out of the next
        claims until it is done."""
        if self._abandoned:  # left in a lane when the database went away: due again now
            abandoned, self._abandoned = self._abandoned, []
            try:
                await self._put_back(abandoned, 0, maybe_sent=True)
            except Exception:
                self._abandoned = abandoned + self._abandoned
                raise
        async with self._uow() as uow:
            # a webhook lane still going holds every webhook back (None), a chat's its chat
            busy = {key if isinstance(key, int) else None for key in self._lanes}
            items = await uow.outbox.claim_due(
                now=self._ctx.now(), lease=self._lease, limit=self._batch, busy=busy
            )
            await uow.commit()
        lanes: dict[int | str, list[OutboxItem]] = defaultdict(list)
        for item in items:  # one lane per chat, or webhook endpoint, keeps its order
            lanes[_lane_key(item)].append(item)
        started = [self._start_lane(key, queued) for key, queued in lanes.items()]
        if started:
            try:
                await asyncio.wait(started, timeout=self._lane_wait)
            except asyncio.CancelledError:  # the process is going down: so are the sends
                for task in started:
                    task.cancel()
                raise
        return len(items)

    def _start_lane(self, key: int | str, items: list[OutboxItem]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._lane(items))
        self._lanes[key] = task

        def done(_task: asyncio.Task[None]) -> None:
            if self._lanes.get(key) is task:
                del self._lanes[key]
                self._wake.set()  # that chat's next items can be claimed now

        task.add_done_callback(done)
        return task

    async def _lane(self, items: list[OutboxItem]) -> None:
        for i, item in enumerate(items):
            try:
                held = await self.process(item)
            except Exception as exc:
                self._unexpected(item, exc)
                if database_unavailable(exc):  # given back as soon as the database is
                    self._abandoned += items[i:]
                    return
                continue
            if held is not None:
                await self._hold_rest(items[i + 1 :], held)
                return

    async def _hold_rest(self, items: list[OutboxItem], seconds: float) -> None:
        try:
            await self._put_back(items, seconds)
        except Exception as exc:  # they stay leased, and come back when the lease runs out
            self._unexpected(items[0], exc)

    def _unexpected(self, item: OutboxItem, exc: Exception) -> None:
        if database_unavailable(exc):
            log.warning("outbox item %s waits for the database (%r)", item.id, exc)
        else:
            log.error("outbox item %s failed unexpectedly", item.id, exc_info=exc)

    async def _put_back(
        self, items: list[OutboxItem], seconds: float, *, maybe_sent: bool = False
    ) -> None:
        """Items this sender holds but will not try now, due again in `seconds`: a chat (or a
        webhook endpoint) that is failing or rate-limited holds its other items; items left
        when the database went away (`maybe_sent`: one may have gone out before it could be
        recorded)."""
        if not items:
            return
        at = self._ctx.now() + timedelta(seconds=seconds)
        error = "the database was unavailable" if maybe_sent else "waiting: its chat's last try"
        async with self._uow() as uow:
            for item in items:
                await uow.outbox.retry_later(
                    item, at=at, error=error, counts=False, maybe_sent=maybe_sent
                )
            await uow.commit()

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

    async def close(self) -> None:
        await self.webhooks.close()

    async def process(self, item: OutboxItem) -> float | None:
        """Send one item and record what happened; seconds the chat now waits, if it does."""
        return await self.delivery.process(item)
