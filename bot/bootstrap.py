"""Composition root: wires settings, store, router, messengers, sender and timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatch import Context, intake_lead
from bot.dispatch.intake import take_lead
from bot.domain.actors import Actor, Source
from bot.domain.errors import LeadbotError
from bot.domain.leads import Lead, NewLead
from bot.messaging import Messenger
from bot.metrics import Metrics
from bot.outbox_sender import OutboxSender
from bot.routing.policy import RoutingPolicy, WeightedRotation
from bot.scheduler import Scheduler
from bot.store.db import create_engine, dispose, is_sqlite
from bot.store.outage import database_unavailable
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    ctx: Context
    messengers: Mapping[str, Messenger]
    sender: OutboxSender
    scheduler: Scheduler
    metrics: Metrics
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # adapters' own
    starters: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # each chat adapter's connection, for /healthz: ("socket mode: connected", True), ...; a
    # connection that should receive and does not makes /healthz answer 503
    chat_states: dict[str, Callable[[], Awaitable[tuple[str, bool]]]] = field(default_factory=dict)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    async def run(
        self,
        use_case: Callable[Concatenate[UnitOfWork, Context, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run one use case in its own unit of work."""
        async with self.uow() as uow:
            return await use_case(uow, self.ctx, *args, **kwargs)

    async def submit_lead(
        self, lead: NewLead, *, actor: Actor, source: Source
    ) -> tuple[Lead, bool, list[int]]:
        """Store a lead and make its first offer in one transaction: (lead, created, offer ids).

        Should routing fail, the lead is still stored on its own, and the sweep routes it.
        A LeadbotError (KeyReused) is the caller's to answer: nothing was stored.
        """
        try:
            taken = await self.run(take_lead, lead, actor=actor, source=source)
        except LeadbotError:
            raise
        except Exception as exc:
            if database_unavailable(exc):
                raise  # the caller answers 503; a retry of the same lead is safe (idempotent)
            log.exception("routing a new lead failed; storing it for the sweep to route")
        else:
            # the commit handed the first cards to the express lane: the card comes first
            await self.sender.on_the_wire()
            return taken
        stored, created = await self.run(intake_lead, lead, actor=actor, source=source)
        return stored, created, []

    async def start(self) -> None:
        """Start the outbox sender and the timers (re-arming every pending offer)."""
        rearmed = await self.scheduler.start()
        log.info("timers: %d pending offers re-armed", rearmed)
        self._tasks.append(asyncio.create_task(self.sender.run(), name="outbox-sender"))
        self.ctx.hooks.express = self.sender

    async def stop(self, *, grace: float = 15.0) -> None:
        """Let timers and the sender finish what they are doing (bounded), then stop them."""
        await self.scheduler.stop(grace=grace)
        self.ctx.hooks.express = None
        self.sender.stop()
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=grace)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()

    async def close(self) -> None:
        """Stop, then release everything; one part failing does not keep the others open."""
        steps: list[Callable[[], Awaitable[None]]] = [self.stop, self.sender.close, *self.closers]
        steps += [m.close for m in self.messengers.values() if hasattr(m, "close")]
        steps.append(partial(dispose, self.engine))
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("closing %s failed", getattr(step, "__qualname__", step))


def build(
    settings: Settings,
    *,
    messengers: Mapping[str, Messenger] | None = None,
    clock: Clock | None = None,
    router: RoutingPolicy | None = None,
    poll_interval: float = 1.0,
) -> Services:
    """Wire real parts, or the fakes a test or the demo passes in."""
    engine = create_engine(settings.database_url)
    metrics = Metrics()
    ctx = Context(
        clock=clock or SystemClock(), router=router or WeightedRotation(), observe=metrics
    )
    chats = dict(messengers or {})
    if messengers is None and settings.slack_enabled:
        from bot.handlers.slack import slack_messenger

        chats["slack"] = slack_messenger(settings, lambda: UnitOfWork(engine))
    if messengers is None and settings.telegram_enabled:
        from telegram import Bot

        from bot.handlers.telegram import TelegramMessenger

        assert settings.telegram_bot_token is not None
        token = settings.telegram_bot_token.get_secret_value()
        chats["telegram"] = TelegramMessenger(Bot(token, base_url=settings.telegram_api_url))

    def uow_factory() -> UnitOfWork:
        return UnitOfWork(engine)

    sender = OutboxSender(uow_factory, ctx, chats, poll_interval=poll_interval)
    scheduler = Scheduler(
        uow_factory,
        ctx,
        sweep_interval=settings.leadbot_sweep_interval,
        concurrency=1 if is_sqlite(settings.database_url) else 8,  # SQLite has one writer
    )
    ctx.hooks.arm, ctx.hooks.remind = scheduler.arm, scheduler.remind
    ctx.hooks.disarm, ctx.hooks.poke = scheduler.disarm, sender.poke
    return Services(settings, engine, ctx, chats, sender, scheduler, metrics)
