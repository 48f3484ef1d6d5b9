"""Crashes and restarts: nothing lost, nothing sent twice, timers re-armed from the database."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from bot.bootstrap import build
from bot.config import Settings
from bot.dispatch import intake_lead
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferStatus
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, apply, config, lead, partner
from tests.fakes import RecordingMessenger


async def wait_for(predicate, *, within: float = 10.0, interval: float = 0.02):
    """Await a condition held in the database, with a bound (no bare sleeps in assertions)."""
    async with asyncio.timeout(within):
        while not await predicate():  # noqa: ASYNC110 -- the condition lives in the database
            await asyncio.sleep(interval)


async def test_sender_killed_mid_send_delivers_the_card_once_after_restart(services, slack, clock):
    await apply(services, config([partner("acme")]))
    stored, _, (offer_id,) = await services.submit_lead(lead("k-1"), actor=SYSTEM, source=SRC)
    slack.hold = asyncio.Event()  # the chat call hangs...
    first = asyncio.create_task(services.sender.drain_once())
    await asyncio.wait_for(slack.entered.wait(), 5)
    first.cancel()  # ...and the process dies right there
    with contextlib.suppress(asyncio.CancelledError):
        await first
    slack.hold = None
    assert slack.offers_to("C-acme") == []

    restarted = build(services.settings, messengers={"slack": slack}, clock=clock)
    try:
        assert await restarted.sender.drain_once() == 0  # still leased to the dead sender
        clock.advance(timedelta(seconds=61))
        await deliver_all(restarted)
        await deliver_all(restarted)
    finally:
        await restarted.close()
    assert len(slack.offers_to("C-acme")) == 1
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
        fresh = await uow.leads.get(stored.id)
    assert offer.status is OfferStatus.PENDING and offer.delivered_at == clock.now()
    assert fresh.status is DispatchStatus.OFFERED


async def test_lead_stored_but_never_routed_is_picked_up_by_the_sweep(services, slack, clock):
    await apply(services, config([partner("acme")]))
    stored, created = await services.run(intake_lead, lead("s-1"), actor=SYSTEM, source=SRC)
    assert created  # ...and the process died before routing it
    assert (await services.scheduler.sweep()).routed == 0  # too fresh: intake may still route it
    clock.advance(timedelta(seconds=11))
    assert (await services.scheduler.sweep()).routed == 1
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 1


async def test_a_routing_failure_at_intake_still_stores_the_lead_for_the_sweep(
    services, slack, clock, monkeypatch
):
    await apply(services, config([partner("acme")]))

    async def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in routing")

    monkeypatch.setattr("bot.dispatch.intake.offer_next", broken)
    stored, created, offers = await services.submit_lead(lead("f-1"), actor=SYSTEM, source=SRC)
    assert created and offers == []  # the caller still gets its lead back
    async with services.uow() as uow:
        kept = await uow.leads.get(stored.id)
        events = [e.kind for e in await uow.events.list_for_lead(stored.id)]
    assert kept.status is DispatchStatus.NEW and events == ["received"]  # stored once
    monkeypatch.undo()
    clock.advance(timedelta(seconds=11))
    assert (await services.scheduler.sweep()).routed == 1
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 1


async def test_start_rearms_every_pending_offer_and_real_timers_expire_them(database_url):
    settings = Settings(database_url=database_url, leadbot_sweep_interval=60, _env_file=None)  # type: ignore[call-arg]
    slack = RecordingMessenger("slack")
    first = build(settings, messengers={"slack": slack}, poll_interval=0.05)
    await apply(
        first, config([partner("acme"), partner("beta")], offer_timeout="0.5s", max_rounds=1)
    )
    stored, _, (offer_id,) = await first.submit_lead(lead("t-1"), actor=SYSTEM, source=SRC)
    await deliver_all(first)
    await first.close()  # stopped before the window closed: no timer is running anywhere

    second = build(settings, messengers={"slack": slack}, poll_interval=0.05)
    try:
        await second.start()
        assert f"offer-expiry:{offer_id}" in second.scheduler.armed()

        async def expired() -> bool:
            async with second.uow() as uow:
                return (await uow.leads.get(stored.id)).status is DispatchStatus.UNASSIGNED

        await wait_for(expired)
    finally:
        await second.close()
    async with second.uow() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer.status is OfferStatus.EXPIRED
    assert offer.responded_at >= offer.expires_at
