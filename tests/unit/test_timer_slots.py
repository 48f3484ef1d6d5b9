"""Timers due together take turns: a restart with thousands of overdue offers must not have
them all wait for a database connection at once (they timed out, and starved the HTTP side)."""

from __future__ import annotations

import asyncio

from bot.scheduler import Scheduler


async def test_timers_due_at_once_run_a_few_at_a_time_and_a_stop_leaves_the_rest():
    scheduler = Scheduler(lambda: None, None, sweep_interval=60, concurrency=3)  # type: ignore[arg-type]
    in_flight, most, ran = 0, 0, []
    release = asyncio.Event()

    async def expire(offer_id: int) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        ran.append(offer_id)
        await release.wait()
        in_flight -= 1

    jobs = [asyncio.create_task(scheduler._job(expire, i)) for i in range(50)]
    async with asyncio.timeout(5):
        while len(ran) < 3:  # noqa: ASYNC110 -- the jobs run in this loop
            await asyncio.sleep(0)
    assert most == 3 and ran == [0, 1, 2]

    scheduler._stopping = True  # what stop() sets: the ones still waiting are the sweep's
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*jobs)
    assert ran == [0, 1, 2] and most == 3
