"""Simulated partner reps: they see cards in the (console) chat and press the real buttons.

They go through the same path a chat handler does: resolve the chat identity to a member,
then call the use case. Each partner has a temperament (how often it accepts, declines or
ignores); a seeded random generator makes every run repeatable.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from bot.bootstrap import Services
from bot.dispatch import accept_offer, decline_offer, set_stage
from bot.domain.actors import Actor, Source
from bot.domain.leads import Stage
from bot.messaging import CardState, OfferCard, Target

# (accept, decline) probabilities; the rest of the time nobody answers
TEMPERAMENTS = [(0.6, 0.25), (0.45, 0.3), (0.3, 0.3), (0.7, 0.1)]


@dataclass
class SimulatedPeople:
    services: Services
    rng: random.Random
    window: float  # seconds of the offer window, to scale reaction times
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _seen: set[tuple[int, str]] = field(default_factory=set)
    temperament: dict[str, tuple[float, float]] = field(default_factory=dict)

    def on_card(self, target: Target, card: OfferCard) -> None:
        """Listener for the console messengers: react to new offers and to won leads."""
        key = (card.offer_id, card.state)
        if key in self._seen or not card.mentions or card.state is CardState.CLOSED:
            return
        self._seen.add(key)
        person = card.mentions[0]
        coro = (
            self._answer(target, card, person)
            if card.state is CardState.OPEN
            else (self._work(target, card, person))
        )
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _actor(self, target: Target, person: str) -> Actor | None:
        async with self.services.uow() as uow:
            return await uow.members.find_actor(platform=target.platform, external_id=person)

    async def _answer(self, target: Target, card: OfferCard, person: str) -> None:
        accept_p, decline_p = self.temperament.setdefault(
            card.partner_name, self.rng.choice(TEMPERAMENTS)
        )
        roll = self.rng.random()
        await asyncio.sleep(self.rng.uniform(0.1, 0.6) * self.window)
        actor = await self._actor(target, person)
        if actor is None:
            return
        source = Source.DEMO
        if roll < accept_p:
            await self.services.run(
                accept_offer, offer_id=card.offer_id, actor=actor, source=source
            )
        elif roll < accept_p + decline_p:
            async with self.services.uow() as uow:
                _version, policy = await self.services.ctx.policies.current(uow)
            await self.services.run(
                decline_offer,
                offer_id=card.offer_id,
                actor=actor,
                reason=self.rng.choice(policy.decline_reasons),
                source=source,
            )
        # else: nobody answers and the window runs out

    async def _work(self, target: Target, card: OfferCard, person: str) -> None:
        """Work a won lead through the funnel the way a busy installer would."""
        actor = await self._actor(target, person)
        if actor is None or not card.buttons:
            return
        lead_id = int(card.buttons[0].value.split(":")[1])
        path = [Stage.CONTACTED, Stage.QUALIFIED]
        ending = self.rng.random()
        if ending < 0.45:
            path += [Stage.OPPORTUNITY, Stage.WON]
        elif ending < 0.75:
            path += [Stage.LOST]
        for stage in path:
            await asyncio.sleep(self.rng.uniform(0.05, 0.2) * self.window)
            value = (
                float(self.rng.randrange(5_000, 40_000, 500))
                if stage in (Stage.OPPORTUNITY, Stage.WON)
                else None
            )
            reason = (
                self.rng.choice(["price", "competitor", "timing"]) if stage is Stage.LOST else None
            )
            await self.services.run(
                set_stage,
                lead_id=lead_id,
                stage=stage,
                actor=actor,
                source=Source.DEMO,
                value=value,
                reason=reason,
            )
