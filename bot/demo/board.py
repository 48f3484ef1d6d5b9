"""What the demo sees happen in the sandbox chats, as neutral events, and a way to wait for one.

The sandbox Slack and Telegram APIs are watched: every message Leadbot posts or edits, every
modal it opens and every question it asks becomes a `ChatEvent` on the `Board`. The live view
prints them; the simulated people wait on them before they press the next button.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Predicate = Callable[["ChatEvent"], bool]


@dataclass(frozen=True)
class ChatEvent:
    platform: str  # slack | telegram
    kind: str  # post | edit | buttons | modal | question | ephemeral | photo
    chat: str  # channel or chat id ("" for a modal)
    ref: str  # the message: Slack ts, Telegram message id; a modal: its trigger id
    text: str  # readable text, markup removed
    buttons: dict[str, str] = field(default_factory=dict)  # label -> value
    extra: dict[str, Any] = field(default_factory=dict)  # a modal's view

    @property
    def is_offer(self) -> bool:
        return "Accept" in self.buttons and "Decline" in self.buttons


@dataclass
class _Expectation:
    predicate: Predicate
    future: asyncio.Future[ChatEvent]


class Board:
    """Events in the order they happened; listeners called for each; expectations met once."""

    def __init__(self) -> None:
        self.events: list[ChatEvent] = []
        self.listeners: list[Callable[[ChatEvent], None]] = []
        self._expected: list[_Expectation] = []

    def publish(self, event: ChatEvent) -> None:
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
        for wanted in list(self._expected):
            if not wanted.future.done() and wanted.predicate(event):
                wanted.future.set_result(event)
                self._expected.remove(wanted)

    def expect(self, predicate: Predicate) -> asyncio.Future[ChatEvent]:
        """A future for the next event that matches; ask before doing what causes it."""
        future: asyncio.Future[ChatEvent] = asyncio.get_running_loop().create_future()
        self._expected.append(_Expectation(predicate, future))
        return future

    async def wait(self, future: asyncio.Future[ChatEvent], within: float) -> ChatEvent | None:
        """The expected event, or None if it did not come within `within` seconds."""
        try:
            async with asyncio.timeout(within):
                return await asyncio.shield(future)
        except TimeoutError:
            self._expected = [e for e in self._expected if e.future is not future]
            future.cancel()
            return None
