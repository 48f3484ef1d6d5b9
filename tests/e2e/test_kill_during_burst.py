"""`kill -9` of a real `leadbot serve` in the middle of a burst of leads and Accept presses
(double taps among them). After the restart every lead the API acknowledged is there, every
lead, offer, event and outbox item is consistent, and no card shows twice in a chat: a card
the dead process had posted without recording it is found at Slack (by the outbox item in its
metadata) instead of being posted again. SQLite by default; PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from bot.bootstrap import build
from bot.config import Settings
from bot.sandbox.slack import FakeSlack, buttons
from bot.store.tables import leads, outbox
from tests.consistency import problems
from tests.e2e.live import Intake, Presser, document, prepare, slack_env, start

PARTNERS = 30
RATE = 40.0  # leads a second
KILL_AFTER = 60  # leads acknowledged before the kill
VOLLEY = 20  # leads sent at once just before it


async def _db(url: str, work):  # type: ignore[no-untyped-def]
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.uow() as uow:
            result = await work(uow)
            await uow.commit()
            return result
    finally:
        await services.close()


async def _stored(uow):  # type: ignore[no-untyped-def]
    return set((await uow.execute(select(leads.c.public_id))).scalars())


async def _lapse(uow):  # type: ignore[no-untyped-def]
    """The dead process's claims run out (60 s pass): set in the database, not slept."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    held = outbox.c.claimed_until.is_not(None) & (outbox.c.status == "pending")
    await uow.execute(update(outbox).where(held).values(claimed_until=past))


async def _pending(uow):  # type: ignore[no-untyped-def]
    query = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
    return (await uow.execute(query)).scalar_one()


def _posts(fake: FakeSlack) -> Counter[tuple[str, str]]:
    """Cards Slack accepted, per (channel, Accept button)."""
    seen: Counter[tuple[str, str]] = Counter()
    for channel, messages in fake.history.items():
        for m in messages:
            if "Accept" in buttons(m):
                seen[(channel, buttons(m)["Accept"])] += 1
    return seen


async def _burst_then_kill(url: str, tmp, fake: FakeSlack, key: str, env) -> Intake:  # type: ignore[no-untyped-def]
    first = await start(tmp, "first", env)
    intake, stop = Intake(key), asyncio.Event()
    volley: list[asyncio.Task[int | None]] = []
    # bounds for a slow, busy machine: they only cap how long a failing run takes
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
        presser = Presser(fake, client)
        load = asyncio.create_task(intake.paced(client, RATE, stop))
        pressing = asyncio.create_task(presser.run(stop))
        try:
            async with asyncio.timeout(120):
                while len(intake.ids) < KILL_AFTER or len(presser.pressed) < 5:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)  # the burst is under way: leads and presses
                # a volley at once; once the first is answered the rest are still being handled,
                # so the kill lands in the middle of requests, not between two paced ones
                volley = [asyncio.create_task(intake.one(client, f"volley-{n}"))
                          for n in range(VOLLEY)]  # fmt: skip
                await asyncio.wait(volley, return_when=asyncio.FIRST_COMPLETED)
        finally:
            first.kill()  # in the middle of it
            stop.set()
            await asyncio.gather(load, pressing, *volley)
    assert intake.errors, "the kill landed between requests: nothing was in flight"
    assert not [b for b in intake.bodies if b["status"] >= 500], intake.bodies[:3]
    return intake


async def test_kill_9_during_a_burst_loses_no_acknowledged_lead(database_url, tmp_path):
    fake = FakeSlack()
    await fake.start()
    try:
        config, key = await prepare(database_url, tmp_path, document(PARTNERS))
        env = slack_env(database_url, config, fake)
        intake = await _burst_then_kill(database_url, tmp_path, fake, key, env)

        assert set(intake.ids.values()) <= await _db(database_url, _stored)
        assert await _db(database_url, problems) == []  # consistent as the process left it
        await _db(database_url, _lapse)
        second = await start(tmp_path, "second", env)
        try:
            async with asyncio.timeout(60):  # whatever was queued goes out now
                while await _db(database_url, _pending):  # noqa: ASYNC110 -- another process
                    await asyncio.sleep(0.1)
        finally:
            code = await second.stop()
        assert code == 0, second.log()[-3000:]
        assert await _db(database_url, problems) == []
        posts = _posts(fake)
        assert posts and set(posts.values()) == {1}, [p for p, n in posts.items() if n > 1]
        assert set(intake.ids.values()) <= await _db(database_url, _stored)
    finally:
        await fake.stop()
