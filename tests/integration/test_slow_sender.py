"""A sender that stalls between claiming a card and sending it (a process too busy to run its
tasks, a long wait for the chat's pace) until its claim ran out: another sender has taken the
card by then and sends it; the stalled one checks its claim right before the send, and leaves
it. The card is shown once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.bootstrap import build
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, apply, config, lead, partner


async def test_a_sender_whose_claim_ran_out_mid_send_leaves_the_card_to_the_other(
    services, slack, clock
):
    await apply(services, config([partner("acme")]))
    await services.submit_lead(lead("slow-1"), actor=SYSTEM, source=SRC)
    stalled, release = asyncio.Event(), asyncio.Event()

    async def stall(dest, at) -> None:  # the chat's pace, or a process too busy: minutes
        stalled.set()
        await release.wait()

    services.sender.delivery.pacer.wait = stall  # type: ignore[method-assign]
    first = asyncio.create_task(services.sender.drain_once())
    await asyncio.wait_for(stalled.wait(), 5)
    clock.advance(timedelta(seconds=61))  # the first sender's claim runs out meanwhile
    other = build(services.settings, messengers={"slack": slack}, clock=clock)
    try:
        await deliver_all(other)  # the other instance takes the card and sends it
    finally:
        await other.close()
    assert len(slack.offers_to("C-acme")) == 1
    release.set()
    await asyncio.wait_for(first, 5)
    for task in list(services.sender._lanes.values()):
        await asyncio.wait_for(task, 5)
    assert len(slack.offers_to("C-acme")) == 1  # not a second time
