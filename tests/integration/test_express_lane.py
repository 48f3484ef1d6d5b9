"""The express lane: a new lead's first card goes out straight after the commit that made the
offer, claimed in that same transaction, without waiting for an outbox pass."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.dispatch.context import ReadyCard
from bot.domain.offers import OfferStatus
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, apply, config, lead, partner


async def test_the_first_card_goes_out_without_an_outbox_pass(services, slack):
    await apply(services, config([partner("acme")]))
    services.ctx.hooks.express = services.sender  # as `start` wires it, but no outbox passes
    stored, _, (offer_id,) = await services.submit_lead(lead("x-1"), actor=SYSTEM, source=SRC)
    async with asyncio.timeout(5):
        while True:  # bounded: the card and its delivery record land within the timeout
            async with services.uow() as uow:
                offer = await uow.offers.get(offer_id)
            if offer.delivered_at is not None:
                break
            await asyncio.sleep(0.01)
    (card,) = slack.offers_to("C-acme")
    assert card.lead_ref == stored.public_id and offer.status is OfferStatus.PENDING
    async with services.uow() as uow:
        assert await uow.outbox.count(status="pending") == 0
        assert await uow.outbox.count(status="sent") == 1


class DeadLane:
    """A process that committed the offer and died before its express send."""

    claim, lease = "dead-process", timedelta(seconds=60)

    def send(self, cards: list[ReadyCard]) -> None:
        self.lost = cards

    async def reserve(self, uow, dest) -> None:
        return None  # its messengers were not paced


async def test_a_card_lost_with_its_process_is_sent_by_any_sender_once_the_claim_lapses(
    services, slack, clock
):
    await apply(services, config([partner("acme")]))
    services.ctx.hooks.express = dead = DeadLane()
    await services.submit_lead(lead("x-2"), actor=SYSTEM, source=SRC)
    assert len(dead.lost) == 1 and slack.offers_to("C-acme") == []
    assert await services.sender.drain_once() == 0  # still claimed by the dead process
    clock.advance(timedelta(seconds=61))
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 1


async def test_an_express_card_whose_claim_ran_low_is_renewed_and_one_that_lapsed_is_left(
    services, slack, clock
):
    await apply(services, config([partner("acme")]))
    services.ctx.hooks.express = dead = DeadLane()
    await services.submit_lead(lead("x-3"), actor=SYSTEM, source=SRC)
    (ready,) = dead.lost
    clock.advance(timedelta(seconds=40))  # past half the lease: renewed before sending
    assert await services.sender._still_ours(ready)
    clock.advance(timedelta(seconds=61))  # the renewed claim lapsed: another sender takes it
    assert await services.sender.drain_once() == 1
    assert not await services.sender._still_ours(ready)
    assert len(slack.offers_to("C-acme")) == 1
