"""Fakes for tests: a messenger that records what it was asked to show, and can fail."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from bot.messaging import NO_PACE, DeliveryError, MessageRef, Notice, OfferCard, Pace, Target


@dataclass
class Sent:
    kind: str  # offer | edit | notice
    target: Target
    ref: MessageRef
    content: OfferCard | Notice


@dataclass
class RecordingMessenger:
    """Records every send and edit; `fail[chat_id]` makes sends to that chat raise."""

    platform: str
    pace: Pace = NO_PACE
    sent: list[Sent] = field(default_factory=list)
    fail: dict[str, DeliveryError] = field(default_factory=dict)
    hold: asyncio.Event | None = None  # when set, sends wait here (to simulate a crash mid-send)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def _maybe_fail(self, target: Target) -> None:
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if target.chat_id in self.fail:
            raise self.fail[target.chat_id]

    async def send_offer(self, target: Target, card: OfferCard) -> MessageRef:
        await self._maybe_fail(target)
        ref = MessageRef(target.chat_id, str(next(self._ids)))
        self.sent.append(Sent("offer", target, ref, card))
        return ref

    async def edit_offer(self, target: Target, ref: MessageRef, card: OfferCard) -> None:
        await self._maybe_fail(target)
        self.sent.append(Sent("edit", target, ref, card))

    async def send_notice(self, target: Target, notice: Notice) -> MessageRef:
        await self._maybe_fail(target)
        ref = MessageRef(target.chat_id, str(next(self._ids)))
        self.sent.append(Sent("notice", target, ref, notice))
        return ref

    def offers_to(self, chat_id: str) -> list[OfferCard]:
        return [s.content for s in self.sent if s.kind == "offer" and s.target.chat_id == chat_id]  # type: ignore[misc]

    def notices_to(self, chat_id: str) -> list[Notice]:
        return [s.content for s in self.sent if s.kind == "notice" and s.target.chat_id == chat_id]  # type: ignore[misc]

    def latest_card(self, offer_id: int) -> OfferCard:
        cards = [
            s.content
            for s in self.sent
            if isinstance(s.content, OfferCard) and s.content.offer_id == offer_id
        ]
        assert cards, f"no card for offer {offer_id}"
        return cards[-1]
