"""Message pacing: no chat gets messages faster than its platform takes them.

Each chat's next free moment lives in the database (`send_pacing`), reserved with one upsert,
so every instance shares it; so does the platform-wide one (Telegram: 30 messages a second per
bot), reserved at or after the chat's slot. A sender waits for a slot at most `HORIZON`
seconds; a chat (or platform) busier than that gets the item back in the outbox, due when it is
free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.messaging import NO_PACE, Messenger, Target
from bot.store.pacing import Slot
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork

HORIZON = 5.0  # seconds a sender waits for a chat's slot before putting the item back


def chat_key(target: Target) -> str:
    return f"{target.platform}:{target.team}:{target.chat_id}"[:120]


def overall_key(platform: str) -> str:
    """The platform-wide slot: every chat's messages take turns here too."""
    return f"{platform}:*"


def target_of(dest: Destination) -> Target:
    return Target(dest.platform, dest.team, dest.chat_id)


class Pacer:
    def __init__(self, messengers: Mapping[str, Messenger], clock: Callable[[], datetime]) -> None:
        self._messengers = messengers
        self._clock = clock
        self._overall_next: dict[str, float] = {}
        self._last: dict[str, float] = {}  # chat -> when this process last sent there

    async def reserve(self, uow: UnitOfWork, dest: Destination) -> Slot | None:
        """A slot for one message to `dest` (None: the platform is not paced). The caller
        commits; the slots are taken once the transaction commits. A chat slot whose
        platform-wide slot is further off than a sender waits is left to run out unused."""
        pace = getattr(self._messengers.get(dest.platform), "pace", NO_PACE)
        interval = pace.interval(target_of(dest))
        if interval <= 0 and pace.overall <= 0:
            return None
        now = self._clock().timestamp()
        slot = Slot(now, now)
        if interval > 0:
            slot = await uow.pacing.reserve(
                chat_key(target_of(dest)), interval=interval, now=now, horizon=HORIZON
            )
        if slot.at is None or pace.overall <= 0:
            return slot
        overall = await uow.pacing.reserve(  # within what is left of the sender's wait
            overall_key(dest.platform),
            interval=pace.overall,
            now=slot.at,
            horizon=max(0.0, now + HORIZON - slot.at),
        )
        return overall if overall.at is None else Slot(overall.at, slot.free_at)

    async def hold(self, uow: UnitOfWork, dest: Destination, seconds: float) -> None:
        """The platform said to wait (a 429): no message to that chat before then."""
        until = self._clock().timestamp() + seconds
        await uow.pacing.hold(chat_key(target_of(dest)), until=until)

    async def wait(self, dest: Destination, at: float | None) -> None:
        """Sleep until `at` (a reserved slot) and the process-wide spacing allow a send, and
        never sooner than the chat's interval after this process last sent there: a send that
        went late (a busy event loop) must not crowd the next one into a 429."""
        pace = getattr(self._messengers.get(dest.platform), "pace", NO_PACE)
        target = target_of(dest)
        key, interval = chat_key(target), pace.interval(target)
        now = self._clock().timestamp()
        at = now if at is None else max(at, now)
        if interval > 0 and key in self._last:
            at = max(at, self._last[key] + interval)
        if pace.overall > 0:
            at = max(at, self._overall_next.get(dest.platform, 0.0))
            self._overall_next[dest.platform] = at + pace.overall
        if at > now:
            await asyncio.sleep(at - now)
        if interval > 0:
            self._last[key] = self._clock().timestamp()
