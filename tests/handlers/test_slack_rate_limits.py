"""Slack's 429 on top of our own pacing: slack_sdk retries once in place when Slack asks for a
short wait; a longer one goes back to the outbox, which holds the whole channel that long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.messaging import Target
from bot.pacer import chat_key
from bot.store.tables import outbox, send_pacing
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, lead
from tests.handlers.test_slack import slack_bot  # noqa: F401 -- the fixture


async def offer_rows(services):
    async with services.uow() as uow:
        return list(await uow.execute(select(outbox).where(outbox.c.kind == "offer")))


async def test_a_short_retry_after_is_waited_out_by_slack_sdk_once(slack_bot):  # noqa: F811
    fake, services, _client = slack_bot
    fake.throttle["C0ACME"] = ["0"]  # the first post there: 429, Retry-After: 0
    await services.submit_lead(lead("t-1"), actor=SYSTEM, source=SRC)
    assert await services.sender.drain_once() == 1
    assert fake.limited == 1 and len(fake.posts_to("C0ACME")) == 2  # the 429, then the retry
    assert len(fake.posted["C0ACME"]) == 1
    (row,) = await offer_rows(services)
    assert row.status == "sent" and row.attempts == 1  # one outbox attempt did it


async def test_a_long_retry_after_holds_the_channel_in_the_outbox(slack_bot, clock):  # noqa: F811
    fake, services, _client = slack_bot
    fake.throttle["C0ACME"] = ["30"]
    await services.submit_lead(lead("t-2"), actor=SYSTEM, source=SRC)
    now = clock.now()
    await services.sender.drain_once()
    assert fake.limited == 1 and len(fake.posts_to("C0ACME")) == 1  # not slept through
    (row,) = await offer_rows(services)
    assert row.status == "pending" and row.next_attempt_at == now + timedelta(seconds=30)
    assert row.attempts == 0  # a rate limit says "later", not "broken"
    key = chat_key(Target("slack", "", "C0ACME"))
    async with services.uow() as uow:
        held = await uow.execute(select(send_pacing.c.next_at).where(send_pacing.c.key == key))
        assert datetime.fromtimestamp(held.scalar_one(), UTC) == now + timedelta(seconds=30)
    await deliver_all(services)
    assert len(fake.posts_to("C0ACME")) == 1  # nothing is due before then
    clock.advance(timedelta(seconds=31))
    await deliver_all(services)
    assert len(fake.posted["C0ACME"]) == 1 and len(fake.posts_to("C0ACME")) == 2
