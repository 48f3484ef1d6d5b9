"""Pacing: no chat gets messages faster than its platform takes them, across instances."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.bootstrap import build
from bot.clock import SystemClock
from bot.config import Settings
from bot.messaging import Pace, Target
from bot.outbox_sender import OutboxSender
from bot.pacer import HORIZON, Pacer, chat_key
from bot.sandbox.slack import FakeSlack
from bot.store.partners import Destination
from bot.store.tables import outbox
from tests.factories import SRC, SYSTEM, apply, config, lead, partner
from tests.fakes import RecordingMessenger

NOW = 1_790_000_000.0


async def reserve(services, key: str, now: float = NOW, interval: float = 1.0):
    async with services.uow() as uow:
        slot = await uow.pacing.reserve(key, interval=interval, now=now, horizon=HORIZON)
        await uow.commit()
    return slot


async def test_slots_follow_each_other_until_the_horizon(services):
    slots = [await reserve(services, "slack::C1") for _ in range(7)]
    # 0..5 s away are taken; the 7th would be 6 s away, beyond the 5 s a sender waits
    assert [s.at - NOW for s in slots[:6]] == [0, 1, 2, 3, 4, 5]
    assert slots[6].at is None and slots[6].free_at == NOW + 6
    # another chat is not held up; time passing frees the first one
    assert (await reserve(services, "slack::C2")).at == NOW
    assert (await reserve(services, "slack::C1", now=NOW + 10)).at == NOW + 10


async def test_a_rate_limit_answer_holds_the_chat(services):
    await reserve(services, "telegram::-100")
    async with services.uow() as uow:
        await uow.pacing.hold("telegram::-100", until=NOW + 30)
        await uow.pacing.hold("telegram::-100", until=NOW + 3)  # never moves it back
        await uow.commit()
    slot = await reserve(services, "telegram::-100", now=NOW + 1)
    assert slot.at is None and slot.free_at == NOW + 30


async def test_instances_reserving_at_once_get_distinct_slots(services):
    """Ten transactions at once (ten instances): ten slots a second apart, none shared."""
    slots = await asyncio.gather(
        *(reserve(services, "slack::T1:C9", interval=0.5) for _ in range(10))
    )
    assert sorted(s.at - NOW for s in slots) == [i * 0.5 for i in range(10)]


def test_intervals_by_platform_and_chat_kind():
    telegram = Pace(per_chat=1.05, per_group=3.05, overall=1 / 30)
    assert telegram.interval(Target("telegram", "", "12345")) == 1.05
    assert telegram.interval(Target("telegram", "", "-100123")) == 3.05  # 20 a minute
    assert Pace(per_chat=1.05).interval(Target("slack", "T1", "C1")) == 1.05
    assert chat_key(Target("slack", "T1", "C1")) == "slack:T1:C1"


@pytest.fixture
async def paced_slack(database_url):
    """The real SlackMessenger on the system clock, against a fake Slack that answers 429 to
    a second post in a channel within 0.25 s; Leadbot paces that channel at 0.3 s."""
    fake = FakeSlack(gap=0.25)
    await fake.start()
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_signing_secret="s" * 32,
        slack_api_url=f"{fake.url}/api/",
        _env_file=None,
    )
    services = build(settings)
    services.messengers["slack"].pace = Pace(per_chat=0.3)
    await apply(services, config([partner("acme", slack_channel="C0ACME")]))
    yield fake, services
    await services.close()
    await fake.stop()


async def submit(services, n: int) -> None:
    for i in range(n):
        await services.submit_lead(lead(f"P{i}", postcode="80331"), actor=SYSTEM, source=SRC)


async def until_sent(services, senders: list[OutboxSender], count: int) -> None:
    """Run the senders until `count` offer items are sent (bounded: fails after 30 s)."""

    async def sent() -> int:
        async with services.uow() as uow:
            rows = await uow.execute(
                select(outbox.c.id).where(outbox.c.kind == "offer", outbox.c.status == "sent")
            )
            return len(list(rows))

    async def run(sender: OutboxSender) -> None:
        while await sent() < count:
            if not await sender.drain_once():
                await asyncio.sleep(0.05)  # nothing due yet: a paced item comes back soon

    await asyncio.wait_for(asyncio.gather(*(run(s) for s in senders)), timeout=30)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


async def test_a_burst_for_one_channel_goes_out_paced_with_no_429(paced_slack):
    fake, services = paced_slack
    await submit(services, 8)
    await until_sent(services, [services.sender], 8)
    assert fake.limited == 0
    times = fake.posted["C0ACME"]
    assert len(times) == 8
    assert min(gaps(times)) >= 0.25


async def test_two_instances_share_a_channels_pace(paced_slack):
    """Two senders (as two instances would) take turns on one channel's slots: no 429."""
    fake, services = paced_slack
    await submit(services, 10)
    other = OutboxSender(services.uow, services.ctx, services.messengers, batch=2)
    mine = OutboxSender(services.uow, services.ctx, services.messengers, batch=2)
    await until_sent(services, [mine, other], 10)
    assert fake.limited == 0
    assert len(fake.posted["C0ACME"]) == 10
    assert min(gaps(fake.posted["C0ACME"])) >= 0.25


async def test_a_429_holds_the_channel_and_nothing_is_sent_twice(paced_slack):
    """Slack says wait (someone else posted there): the card waits Retry-After, then goes."""
    fake, services = paced_slack
    services.messengers["slack"].pace = Pace()  # unpaced: the fake's limit is hit at once
    await submit(services, 2)
    await until_sent(services, [services.sender], 2)
    assert fake.limited >= 1
    assert len(fake.posted["C0ACME"]) == 2  # each card once
    assert gaps(fake.posted["C0ACME"])[0] >= 0.9  # the channel was held for Retry-After: 1


async def test_an_express_card_for_a_busy_chat_is_queued_until_it_is_free(services, clock):
    """The express lane reserves the slot in the intake transaction; a chat booked beyond the
    horizon gets the card queued, due when the chat is free, instead of a long wait."""
    await apply(services, config([partner("acme")]))
    services.messengers["slack"].pace = Pace(per_chat=1.0)
    sender = services.sender
    services.ctx.hooks.express = sender
    sent: list = []
    sender.send = sent.extend  # type: ignore[method-assign]
    now = clock.now().timestamp()
    async with services.uow() as uow:
        await uow.pacing.hold(chat_key(Target("slack", "", "C-acme")), until=now + 60)
        await uow.commit()
    await services.submit_lead(lead("B1", postcode="80331"), actor=SYSTEM, source=SRC)
    assert sent == []
    async with services.uow() as uow:
        (row,) = await uow.execute(select(outbox).where(outbox.c.kind == "offer"))
    assert row.claim is None
    assert row.next_attempt_at == datetime.fromtimestamp(now + 60, UTC)

    clock.advance(timedelta(seconds=61))
    await services.submit_lead(lead("B2", postcode="80331"), actor=SYSTEM, source=SRC)
    assert [r.slot for r in sent] == [clock.now().timestamp()]  # free now: express, no wait


async def test_a_late_send_does_not_crowd_the_next_one_into_a_429():
    """Slots are a second apart, but the first send went late (a busy event loop): the next
    still waits a whole interval after it, not merely until its own slot."""
    pacer = Pacer(
        {"slack": RecordingMessenger("slack", pace=Pace(per_chat=0.2))}, SystemClock().now
    )
    dest = Destination(1, 1, "slack", "", "C1")
    first_slot = time.time() - 0.15  # its moment passed while the loop was busy elsewhere
    await pacer.wait(dest, first_slot)
    sent_first = time.monotonic()
    await pacer.wait(dest, first_slot + 0.2)  # the next slot: only 0.05 s from now
    assert time.monotonic() - sent_first >= 0.19  # sleep never returns early


async def test_the_platform_wide_pace_is_shared_by_every_chat_and_instance(services):
    """Telegram takes 30 messages a second from a bot in all: forty cards for forty different
    groups, reserved by two instances at once, get forty distinct slots 1/30 s apart."""
    pace = Pace(per_chat=1.05, per_group=3.05, overall=1 / 30)
    instances = [
        Pacer(
            {"telegram": RecordingMessenger("telegram", pace=pace)},
            lambda: datetime.fromtimestamp(NOW, UTC),
        )
        for _ in range(2)
    ]

    async def one(i: int):
        dest = Destination(i, None, "telegram", "", str(-1000 - i), None)
        async with services.uow() as uow:
            slot = await instances[i % 2].reserve(uow, dest)
            await uow.commit()
        return slot

    slots = await asyncio.gather(*(one(i) for i in range(40)))
    gaps = sorted(round((s.at - NOW) * 30, 3) for s in slots)
    assert gaps == list(range(40))  # all within the 5 s a sender waits: 40/30 s
    later = await one(99)  # the 41st for one more group still fits; far more would not
    assert later.at is not None and round((later.at - NOW) * 30) == 40
