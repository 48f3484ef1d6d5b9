"""A messenger that prints cards readably to a terminal (the demo's chat)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.markup import escape

from bot.messaging import NO_PACE, CardState, MessageRef, Notice, OfferCard, Target

Listener = Callable[[Target, OfferCard], Awaitable[None] | None]

_STYLE = {CardState.OPEN: "bold cyan", CardState.WON: "bold green", CardState.CLOSED: "dim"}


class ConsoleMessenger:
    """Prints what a chat would show; optional listeners see every card (simulated people)."""

    def __init__(self, platform: str, console: Console | None = None, *, quiet: bool = False):
        self.platform = platform
        self.pace = NO_PACE  # nothing is sent anywhere
        self.console = console or Console(highlight=False)
        self.quiet = quiet
        self.listeners: list[Listener] = []
        self._ids = itertools.count(1)

    def _print(self, target: Target, text: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{self.platform}:{target.chat_id}[/] {text}")

    async def _notify(self, target: Target, card: OfferCard) -> None:
        for listener in self.listeners:
            result = listener(target, card)
            if result is not None:
                await result

    async def send_offer(self, target: Target, card: OfferCard) -> MessageRef:
        why = f" · [italic]{escape(card.why_you)}[/]" if card.why_you else ""
        teaser = "; ".join(f"{k}: {escape(v)}" for k, v in card.teaser)
        self._print(target, f"[{_STYLE[card.state]}]{escape(card.headline)}[/] {teaser}{why}")
        ref = MessageRef(target.chat_id, str(next(self._ids)))
        await self._notify(target, card)
        return ref

    async def edit_offer(self, target: Target, ref: MessageRef, card: OfferCard) -> None:
        extra = ""
        if card.contact and card.contact.name:
            extra = f" · contact: {escape(card.contact.name)}"
        if card.stage:
            extra += f" · stage: {card.stage}"
        self._print(
            target,
            f"[{_STYLE[card.state]}]↻ {escape(card.headline)}[/] {escape(card.status_line)}{extra}",
        )
        await self._notify(target, card)

    async def send_notice(self, target: Target, notice: Notice) -> MessageRef:
        lines = " | ".join(escape(line) for line in notice.lines)
        self._print(target, f"[bold yellow]⚠ {escape(notice.title)}[/] {lines}")
        return MessageRef(target.chat_id, str(next(self._ids)))
