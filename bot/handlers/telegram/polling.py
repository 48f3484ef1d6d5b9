"""Long polling, when no TELEGRAM_WEBHOOK_URL is set: our own `getUpdates` loop on the PTB
bot, in the same event loop, feeding the same PTB application as the webhook.

One consumer per bot token: Telegram answers a second one 409 Conflict. That is said once,
clearly, and polling keeps retrying, ever more slowly, instead of crashing or flooding the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bot.bootstrap import Services
from bot.handlers.telegram.updates import UPDATES, TelegramUpdates

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFLICT = (
    "Telegram: another instance is polling this bot token; run several instances in webhook "
    "mode (TELEGRAM_WEBHOOK_URL). This one keeps trying, less and less often (every {most:g} s "
    "at the slowest)."
)
WEBHOOK_SET = (
    "Telegram: a webhook is set for this bot token (another instance in webhook mode?); set "
    "TELEGRAM_WEBHOOK_URL here too to run several instances. This one keeps retrying polling."
)
RETELL_AFTER = 3600.0  # a conflict still going on is said again after an hour
CALM_AFTER = 600.0  # no conflict for this long: back to the first, short retry delay


@dataclass(frozen=True)
class Backoff:
    first: float
    most: float

    def next(self, current: float | None) -> float:
        return self.first if current is None else min(self.most, current * 2)


class _Stopped(Exception):
    pass


class TelegramPolling(TelegramUpdates):
    """`start` begins polling in the background (deleteWebhook first); `close` stops it,
    confirms the updates handled so far, and shuts the application down."""

    def __init__(
        self,
        services: Services,
        *,
        long_poll: int = 30,
        retry: Backoff = Backoff(1.0, 60.0),
        conflict: Backoff = Backoff(5.0, 120.0),
        update_limit: float = 60.0,
        grace: float = 10.0,
    ) -> None:
        super().__init__(services)
        self.long_poll, self.update_limit, self.grace = long_poll, update_limit, grace
        self._retry, self._conflict = retry, conflict
        self.offset: int | None = None  # the next update to fetch: the last handled + 1
        self.conflicts = 0  # 409 answers seen
        self._conflict_delay: float | None = None
        self._last_conflict = float("-inf")
        self._last_error = float("-inf")
        self._last_ok = float("-inf")  # the last getUpdates that answered
        self._told: dict[str, float] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(8)  # updates handled at once
        self._late: set[asyncio.Task[None]] = set()  # updates over update_limit, still running

    async def start(self) -> None:
        """Start polling in the background, then set the command menus."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="telegram-polling")
        try:
            await self.set_menus()
        except TelegramError as exc:  # cosmetic: commands work without the menu
            log.warning("Telegram: the command menus could not be set (%s); polling goes on", exc)

    async def _run(self) -> None:
        try:
            await self._retrying(self._initialize)
            await self._retrying(lambda: self.application.bot.delete_webhook())
            while not self._stop.is_set():
                updates = await self._retrying(self._fetch)
                if updates and not self._stop.is_set():  # else fetched again by the next start
                    await self._handle_batch(updates)
                    self.offset = updates[-1].update_id + 1
        except _Stopped:
            return
        except InvalidToken:
            log.error("Telegram refused TELEGRAM_BOT_TOKEN: polling stopped; check the token")
        except Exception:  # never die silently: say so, and /healthz says "polling: stopped"
            log.exception("Telegram polling stopped on an unexpected error")

    async def _fetch(self) -> tuple[Update, ...]:
        updates = await self.application.bot.get_updates(
            offset=self.offset, timeout=self.long_poll, allowed_updates=UPDATES
        )
        self._last_ok = time.monotonic()
        if self._last_ok - self._last_conflict > CALM_AFTER:
            self._conflict_delay = None
        return tuple(updates)

    async def _handle_batch(self, updates: tuple[Update, ...]) -> None:
        """Each chat's updates in order, the chats side by side: one slow `/funnel` holds up
        nobody else's Accept. An update still running after `update_limit` is left to finish
        on its own (never cancelled mid-transaction) and the next batch is fetched."""
        by_chat: dict[int, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            by_chat.setdefault(chat.id if chat else 0, []).append(update)
        lanes = [asyncio.create_task(self._handle_lane(lane)) for lane in by_chat.values()]
        _done, late = await asyncio.wait(lanes, timeout=self.update_limit)
        for task in late:
            log.warning("a Telegram update took over %.0f s; still running", self.update_limit)
            self._late.add(task)
            task.add_done_callback(self._late.discard)

    async def _handle_lane(self, updates: list[Update]) -> None:
        for update in updates:
            async with self._slots:
                try:
                    await self.process(update)
                except Exception:
                    log.exception("Telegram update %s could not be handled", update.update_id)

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call` until it succeeds, waiting between tries; _Stopped once `close` was called."""
        delay: float | None = None
        while not self._stop.is_set():
            try:
                return await self._unless_stopped(call())
            except Conflict as exc:
                wait = self._conflicted(exc.message)
            except RetryAfter as exc:
                with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
                    warnings.simplefilter("ignore")
                    after = exc.retry_after
                wait = after.total_seconds() if hasattr(after, "total_seconds") else float(after)
            except InvalidToken:
                raise
            except _Stopped:
                raise
            except Exception as exc:  # the network, Telegram having a bad moment, or a bad update
                self._last_error = time.monotonic()
                delay = self._retry.next(delay)
                wait = delay
                level = logging.WARNING if delay == self._retry.first else logging.DEBUG
                log.log(level, "Telegram polling: %r; retrying in %.0f s", exc, wait)
            await self._pause(wait)
        raise _Stopped

    def _conflicted(self, message: str) -> float:
        """Say once (and again hourly) that another consumer has the token; how long to wait."""
        self.conflicts += 1
        self._last_conflict = time.monotonic()
        self._conflict_delay = self._conflict.next(self._conflict_delay)
        kind = "webhook" if "webhook" in message.lower() else "polling"
        told = self._told.get(kind)
        if told is None or time.monotonic() - told > RETELL_AFTER:
            self._told[kind] = time.monotonic()
            line = WEBHOOK_SET if kind == "webhook" else CONFLICT.format(most=self._conflict.most)
            log.error("%s", line)
        else:
            log.debug("Telegram polling: %s", message)
        return self._conflict_delay

    async def state(self) -> tuple[str, bool]:
        """How polling stands, for /healthz: down while no updates can be fetched."""
        if self._task is None or self._task.done():
            return "polling: stopped", False
        if self._last_conflict > self._last_ok:  # since the last fetch that worked
            return "polling: another instance is polling this token (409); use webhook mode", False
        if self._last_error > self._last_ok:
            return "polling: retrying after errors", False
        return "polling", True

    async def _unless_stopped(self, call: Awaitable[T]) -> T:
        task: asyncio.Future[T] = asyncio.ensure_future(call)
        stopping: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await task
            raise _Stopped
        return task.result()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def close(self) -> None:
        """Stop polling (an update being handled finishes, within `grace`), tell Telegram
        which updates were handled, and shut the application down."""
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            try:
                await asyncio.wait_for(task, self.grace)
            except TimeoutError:
                log.warning("Telegram polling did not stop within %.0f s; cancelled", self.grace)
            except Exception:
                log.exception("Telegram polling ended on an error")
            if self._late:  # updates still running: let them finish (bounded) first
                await asyncio.wait(set(self._late), timeout=self.grace)
            if self.offset is not None and self._ready:
                await self._confirm()
        await super().close()

    async def _confirm(self) -> None:
        """getUpdates with the next offset and no wait marks everything before it as handled,
        so a restart does not fetch those updates again."""
        kwargs: dict[str, Any] = {"offset": self.offset, "timeout": 0, "allowed_updates": UPDATES}
        try:
            async with asyncio.timeout(5):
                await self.application.bot.get_updates(**kwargs)
        except (TelegramError, TimeoutError) as exc:
            log.warning("Telegram: could not confirm the last updates (%s); they may repeat", exc)
