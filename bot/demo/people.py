"""Simulated partner reps: they see the cards in the sandbox chats and press the real buttons.

Each press goes to Leadbot's HTTP server as a signed Slack interaction or a Telegram update, so
it runs the same code a real tap would. Each partner has a temperament (how often it accepts,
declines or ignores a lead); every decision is drawn from a generator seeded by the run's seed,
the lead and the partner, so a seed gives the same story whatever order things happen in.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.demo.board import Board, ChatEvent
from bot.demo.hands import SlackHand, TelegramHand

# (accept, decline) chances by partner; the rest of the time nobody answers in time
TEMPERAMENTS = [(0.6, 0.25), (0.45, 0.3), (0.3, 0.3), (0.7, 0.1)]
LEAD_REF = re.compile(r"\b[Ll]ead (L[0-9A-Z]{7})\b")  # "New lead LXXXXXXX for …", "Lead LXXXXXXX …"
WAIT = 15.0  # seconds a person waits for Leadbot to show what their press did
CHOSEN = (":d", ":l")  # the buttons whose answer is a choice: Decline and Lost


@dataclass(frozen=True)
class Person:
    name: str
    platform: str
    user: str  # Slack user id or Telegram user id
    partner: str  # slug


@dataclass
class Cast:
    """Who reads which chat, from leadbot.yaml."""

    chats: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # -> slug, name
    people: dict[tuple[str, str], list[Person]] = field(default_factory=dict)  # chat -> readers

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Cast:
        cast = cls()
        managers = document.get("managers") or {}
        for platform in ("slack", "telegram"):
            key = "slack_channel" if platform == "slack" else "telegram_chat"
            if managers.get(key) is not None:
                cast.chats[(platform, str(managers[key]))] = ("managers", "Managers")
            for p in document.get("partners", []):
                if p.get(key) is None:
                    continue
                chat = (platform, str(p[key]))
                cast.chats[chat] = (p["slug"], p["name"])
                cast.people[chat] = [
                    Person(m["name"], platform, str(m[platform]), p["slug"])
                    for m in p.get("members", [])
                    if m.get(platform) is not None
                ]
                for person in cast.people[chat]:  # a rep's private chat with the bot
                    if platform == "telegram":
                        cast.chats[(platform, person.user)] = (p["slug"], f"{person.name} (DM)")
                        cast.people[(platform, person.user)] = [person]
        return cast

    def name(self, platform: str, chat: str) -> str:
        return self.chats.get((platform, chat), ("", chat))[1]


class SimulatedPeople:
    def __init__(
        self,
        board: Board,
        cast: Cast,
        slack: SlackHand | None,
        telegram: TelegramHand | None,
        *,
        seed: int,
        window: float,
        decline_reasons: list[str],
    ) -> None:
        self.board, self.cast, self.slack, self.telegram = board, cast, slack, telegram
        self.seed, self.window, self.decline_reasons = seed, window, decline_reasons
        self.refs: dict[str, str] = {}  # lead public id -> a stable name for decisions
        self.tasks: set[asyncio.Task[None]] = set()
        self.crashed: list[str] = []  # what the presses that raised said (none, if all is well)
        self._handled: set[str] = set()  # offers answered and leads worked, by button value
        board.listeners.append(self.on_event)

    def _rng(self, lead: str, partner: str, what: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.refs.get(lead, lead)}:{partner}:{what}")

    def on_event(self, event: ChatEvent) -> None:
        readers = self.cast.people.get((event.platform, event.chat))
        if not readers or event.kind not in ("post", "edit"):
            return
        person = readers[0]
        if event.kind == "post" and event.is_offer:
            key = event.buttons["Accept"]
            if key not in self._handled:
                self._handled.add(key)
                self._spawn(self._answer(event, person))
        elif "Contacted" in event.buttons or "Qualified" in event.buttons:
            key = next(iter(event.buttons.values())).rsplit(":", 1)[0]  # the lead's buttons
            if key not in self._handled:
                self._handled.add(key)
                self._spawn(self._work(event, person))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.crashed.append(repr(task.exception())[:200])

    @staticmethod
    def lead_of(event: ChatEvent) -> str:
        found = LEAD_REF.search(event.text)
        return found.group(1) if found else ""

    async def _answer(self, card: ChatEvent, person: Person) -> None:
        lead = self.lead_of(card)
        rng = self._rng(lead, person.partner, "answer")
        accept, decline = TEMPERAMENTS[hash_of(person.partner) % len(TEMPERAMENTS)]
        roll = rng.random()
        delay = rng.uniform(0.1, 0.5) * self.window
        if roll >= accept + decline:
            return  # nobody answers: the window runs out and the lead moves on
        await asyncio.sleep(delay)  # reading the card on the phone
        if roll < accept:
            await self._press(person, card, "Accept")
            return
        reason = rng.choice(self.decline_reasons)
        await self._press(person, card, "Decline", answer=reason)

    async def _work(self, card: ChatEvent, person: Person) -> None:
        """Work an accepted lead through the funnel the way a busy installer would."""
        rng = self._rng(self.lead_of(card), person.partner, "work")
        path = ["Contacted", "Qualified"]
        ending = rng.random()
        if ending < 0.45:
            path += ["Opportunity", "Won"]
        elif ending < 0.75:
            path += ["Lost"]
        amount = rng.randrange(5_000, 40_000, 500)
        current = card
        for step in path:
            await asyncio.sleep(rng.uniform(0.05, 0.2) * self.window)
            answer = None
            if step in ("Opportunity", "Won"):
                answer = f"{amount:,}"
            elif step == "Lost":
                answer = rng.choice(["price", "competitor", "timing"])
            edited = await self._press(person, current, step, answer=answer)
            if edited is None:
                return  # taken back, or the card did not come back: stop here
            current = edited

    async def _press(
        self, person: Person, card: ChatEvent, label: str, *, answer: str | None = None
    ) -> ChatEvent | None:
        """Press `label` on the card (answering the question it asks); the card as edited."""
        value = card.buttons.get(label)
        if value is None:
            return None
        edited = self.board.expect(
            lambda e: e.kind == "edit" and (e.chat, e.ref) == (card.chat, card.ref)
        )
        if person.platform == "slack" and self.slack is not None:
            await self._slack(person, card, label, value, answer)
        elif person.platform == "telegram" and self.telegram is not None:
            await self._telegram(person, card, value, answer)
        return await self.board.wait(edited, WAIT)

    async def _slack(
        self, person: Person, card: ChatEvent, label: str, value: str, answer: str | None
    ) -> None:
        assert self.slack is not None
        # only a press that asks something waits for the question (an expectation nobody
        # awaits would stay on the board, and every later event would be checked against it)
        modal = self.board.expect(lambda e: e.kind == "modal") if answer is not None else None
        trigger = await self.slack.press(
            person.user, person.name, value=value, label=label, channel=card.chat, ts=card.ref
        )
        if modal is None or answer is None:
            return
        opened = await self.board.wait(modal, WAIT)
        if opened is not None and opened.ref == trigger:
            await self.slack.submit(person.user, person.name, opened.extra, answer)

    async def _telegram(
        self, person: Person, card: ChatEvent, value: str, answer: str | None
    ) -> None:
        assert self.telegram is not None
        where, user = (card.chat, card.ref), int(person.user)
        if answer is None:
            await self.telegram.press(
                user, person.name, data=value, chat=card.chat, message_id=card.ref
            )
            return
        # a reason is chosen from buttons on the card; an amount is typed as a reply
        if value.endswith(CHOSEN):
            awaited = self.board.expect(lambda e: e.kind == "buttons" and (e.chat, e.ref) == where)
        else:
            awaited = self.board.expect(lambda e: e.kind == "question" and e.chat == card.chat)
        await self.telegram.press(
            user, person.name, data=value, chat=card.chat, message_id=card.ref
        )
        asked = await self.board.wait(awaited, WAIT)
        if asked is None:
            return
        if asked.kind == "question":
            await self.telegram.reply(user, person.name, chat=card.chat, to=asked.ref, text=answer)
            return
        label = answer.replace("_", " ")
        if label in asked.buttons:
            data = asked.buttons[label]
            await self.telegram.press(
                user, person.name, data=data, chat=card.chat, message_id=card.ref
            )


def hash_of(text: str) -> int:
    """A stable hash (Python's own changes with every process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))
