"""Minutes of chat API faults, then recovery, over real HTTP with the real adapters: every card
is delivered exactly once, each offer window starts at its delivery, nothing is lost.

Both fakes fail together (500s, hangs, 429 with Retry-After, refused connections, or answers
lost after the platform did the work) for five minutes of fake time while eight leads arrive;
the outbox's backoff runs on the same fake clock, hangs cost the clients' (short) timeouts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.leads import DispatchStatus
from bot.sandbox.faults import Fault
from bot.store.tables import lead_events, leads, offers, outbox
from tests.factories import SRC, SYSTEM, lead
from tests.handlers.two_chats import drain, time_passes, two_chats

LEADS = 8
WINDOW = timedelta(minutes=30)


async def state(services):
    async with services.uow() as uow:
        rows = (await uow.execute(select(offers))).all()
        lead_rows = (await uow.execute(select(leads.c.status))).scalars().all()
        kinds = (await uow.execute(select(lead_events.c.kind))).scalars().all()
        items = (await uow.execute(select(outbox.c.kind, outbox.c.status))).all()
    return rows, lead_rows, kinds, items


async def tries_by_chat(services) -> dict[int, list[int]]:
    """Failed tries counted on each queued card, per chat."""
    async with services.uow() as uow:
        rows = (await uow.execute(select(outbox).order_by(outbox.c.id))).all()
    tries: dict[int, list[int]] = {}
    for r in rows:
        tries.setdefault(r.destination_id, []).append(r.attempts)
    return tries


@pytest.mark.parametrize("mode", [f for f in Fault if f is not Fault.LOST_REPLY])
async def test_minutes_of_faults_then_every_card_exactly_once(database_url, clock, mode):
    async with two_chats(database_url, clock) as chats:
        services = chats.services
        for fake in (chats.slack, chats.telegram):
            await fake.faults.start(mode, retry_after=20)
        for i in range(LEADS):
            await services.submit_lead(lead(f"f-{i}"), actor=SYSTEM, source=SRC)
        await drain(services)
        await time_passes(services, clock, 5 * 60)  # five minutes of the platforms failing

        rows, statuses, kinds, _ = await state(services)
        assert len(rows) == LEADS and all(r.status == "pending" for r in rows)
        assert all(r.delivered_at is None and r.expires_at is None for r in rows)  # no window yet
        assert set(statuses) == {DispatchStatus.OFFERED} and "expired" not in kinds
        assert chats.posts() == {}  # nothing reached a chat
        if mode is not Fault.REFUSE:  # refused connections never reach the fake at all
            assert chats.slack.faults.served[mode] > 0 and chats.telegram.faults.served[mode] > 0
        tries = await tries_by_chat(services)  # one card per chat probes; the others wait
        assert len(tries) == 4 and all(sum(t > 0 for t in chat) <= 1 for chat in tries.values())

        for fake in (chats.slack, chats.telegram):
            await fake.faults.recover()
        recovered = clock.now()
        await time_passes(services, clock, 60)  # a failing chat is tried at least every minute

        rows, statuses, kinds, items = await state(services)
        assert chats.posts() == {r.id: 1 for r in rows}  # every card, once
        for r in rows:  # the window starts when the card arrived, not when it was queued
            assert recovered < r.delivered_at <= clock.now()
            assert r.expires_at == r.delivered_at + WINDOW
        assert {status for kind, status in items if kind == "offer"} == {"sent"}
        assert kinds.count("delivered") == LEADS and "undeliverable" not in kinds

        first_deadline = min(r.expires_at for r in rows)
        clock.advance(first_deadline - clock.now() - timedelta(seconds=1))
        await services.scheduler.sweep()
        assert "expired" not in (await state(services))[2]  # not a second before its window
        clock.advance(timedelta(seconds=2))
        assert (await services.scheduler.sweep()).expired >= 1


@pytest.mark.parametrize("history_scope", [True, False])
async def test_an_answer_lost_after_the_post_arrived(database_url, clock, history_scope):
    """The platform took the post but its answer never came (the client timed out). Slack is
    asked whether the card is there (each post carries its outbox item in the message
    metadata) and it is not posted again; without the history scopes, and on Telegram, which
    has no way to ask, the next try posts it again: one extra copy per answer lost."""
    async with two_chats(database_url, clock) as chats:
        services = chats.services
        chats.slack.history_scope = history_scope
        for fake in (chats.slack, chats.telegram):  # the posts themselves, not auth.test
            await fake.faults.start(Fault.LOST_REPLY, methods=("chat.postMessage", "sendMessage"))
        for i in range(LEADS):
            await services.submit_lead(lead(f"l-{i}"), actor=SYSTEM, source=SRC)
        await drain(services)  # each chat's first card arrives; its answer is lost
        lost = chats.posts()
        assert len(lost) == 4 and set(lost.values()) == {1}  # one per chat; the rest wait
        for fake in (chats.slack, chats.telegram):
            await fake.faults.recover()
        await time_passes(services, clock, 60)

        rows, _, kinds, items = await state(services)
        by_platform = {r.id: _platform(chats, r.id) for r in rows}
        twice = {oid for oid in lost if by_platform[oid] == "telegram" or not history_scope}
        assert chats.posts() == {r.id: 2 if r.id in twice else 1 for r in rows}
        assert {status for kind, status in items if kind == "offer"} == {"sent"}
        assert kinds.count("delivered") == LEADS


def _platform(chats, offer_id: int) -> str:
    for args in chats.slack.called("chat.postMessage"):
        if f"o:{offer_id}:a" in str(args.get("blocks")):
            return "slack"
    return "telegram"


async def test_a_hung_platform_does_not_hold_up_the_other(database_url, clock):
    """Slack hangs (its client waits its full timeout); the cards for Telegram go out meanwhile,
    and Slack's go out once, after it answers again."""
    async with two_chats(database_url, clock) as chats:
        services = chats.services
        services.messengers["slack"].client.timeout = 30  # as in production
        services.sender._lane_wait = 0.2
        await chats.slack.faults.start(Fault.HANG)
        for i in range(LEADS):
            await services.submit_lead(lead(f"h-{i}"), actor=SYSTEM, source=SRC)
        async with asyncio.timeout(5):  # well within Slack's 30 s: nothing waits for Slack
            await drain(services)  # Slack's lanes still hang; Telegram's finish meanwhile
            while len(chats.posts()) < LEADS // 2:  # noqa: ASYNC110 -- lanes run in the background
                await asyncio.sleep(0.02)
        on_telegram = {oid for oid in chats.posts()}
        assert len(on_telegram) == LEADS // 2 and len(chats.telegram.called("sendMessage")) == 4
        await chats.slack.faults.recover()  # the hung posts fail (500), and are tried again
        async with asyncio.timeout(10):
            while len(chats.posts()) < LEADS:  # noqa: ASYNC110 -- lanes finish in the background
                await asyncio.sleep(0.02)
                clock.advance(timedelta(seconds=5))
                await drain(services)
        assert set(chats.posts().values()) == {1}
