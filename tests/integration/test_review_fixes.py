"""Delivery and capacity edge cases: rate limits, a copy in flight during Accept, capacity."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.dispatch import accept_offer
from bot.messaging import CardState, DeliveryError
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, actor_for, apply, config, lead, partner


async def test_rate_limits_never_use_up_the_retry_budget(services, slack, clock):
    await apply(services, config([partner("acme")]))
    slack.fail["C-acme"] = DeliveryError("ratelimited", permanent=False, retry_after=1)
    _, _, (offer_id,) = await services.submit_lead(lead("rl-1"), actor=SYSTEM, source=SRC)
    for _ in range(20):  # far more tries than the budget of 8 failures
        await deliver_all(services)
        clock.advance(timedelta(seconds=1))
    del slack.fail["C-acme"]
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 1
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status == "pending"


async def test_a_copy_on_its_way_during_accept_is_brought_up_to_date(services, slack, telegram):
    await apply(services, config([partner("acme", telegram_chat=-100777)]))
    _, _, (offer_id,) = await services.submit_lead(lead("cp-1"), actor=SYSTEM, source=SRC)
    telegram.hold = asyncio.Event()
    sending = asyncio.create_task(services.sender.drain_once())
    await asyncio.wait_for(telegram.entered.wait(), 5)  # the Telegram copy is being sent...
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    telegram.hold.set()  # ...and lands after Bob accepted on Slack
    await asyncio.wait_for(sending, 5)
    telegram.hold = None
    await deliver_all(services)
    assert telegram.latest_card(offer_id).state is CardState.WON
    assert slack.latest_card(offer_id).state is CardState.WON


async def test_a_partner_at_capacity_cannot_accept_more(services):
    await apply(services, config([partner("acme", capacity=1)]))
    _, _, (first,) = await services.submit_lead(lead("c-1"), actor=SYSTEM, source=SRC)
    _, _, (second,) = await services.submit_lead(lead("c-2"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=first, actor=bob, source=SRC)).ok
    refused = await services.run(accept_offer, offer_id=second, actor=bob, source=SRC)
    assert not refused.ok and refused.message.startswith("You are at capacity (1 of 1")
    async with services.uow() as uow:
        assert (await uow.offers.get(second)).status == "pending"


async def test_one_failing_offer_does_not_stall_the_sweep(services, clock, monkeypatch):
    import bot.sweep

    await apply(services, config([partner("acme")], max_rounds=1))
    ids = []
    for i in range(3):
        _, _, (offer_id,) = await services.submit_lead(lead(f"sw-{i}"), actor=SYSTEM, source=SRC)
        ids.append(offer_id)
    await deliver_all(services)
    real = bot.sweep.expire_offer

    async def broken_for_the_first(uow, ctx, *, offer_id):
        if offer_id == ids[0]:
            raise RuntimeError("a policy version that no longer validates")
        return await real(uow, ctx, offer_id=offer_id)

    monkeypatch.setattr(bot.sweep, "expire_offer", broken_for_the_first)
    clock.advance(timedelta(minutes=31))
    assert (await services.scheduler.sweep()).expired == 2  # the other two still go
    monkeypatch.setattr(bot.sweep, "expire_offer", real)
    assert (await services.scheduler.sweep()).expired == 1  # and the next pass retries it


async def test_reassign_in_the_last_round_still_tries_the_others(services):
    from bot.dispatch.reassign import reassign_lead
    from tests.factories import MANAGER

    await apply(services, config([partner("acme"), partner("beta")], max_rounds=1))
    stored, _, (offer_id,) = await services.submit_lead(lead("ra-2"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        holder = (await uow.offers.get(offer_id)).partner_id
    rep = await actor_for(services, "UACME")
    if rep.partner_id != holder:
        rep = await actor_for(services, "UBETA")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=rep, source=SRC)).ok
    outcome = await services.run(reassign_lead, lead_id=stored.id, actor=MANAGER, source=SRC)
    assert outcome.ok and "offered to the next partner" in outcome.message
    async with services.uow() as uow:
        offers = await uow.offers.list_for_lead(stored.id)
    assert [o.status for o in offers] == ["withdrawn", "pending"]
    assert offers[1].partner_id != holder
