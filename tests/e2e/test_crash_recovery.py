"""`kill -9` of a real `leadbot serve` holding armed offer timers; the restart handles them all,
and none twice. (How fast, within one sweep interval, is measured by benchmarks/timers.py, B4.)"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.bootstrap import build
from bot.config import Settings
from bot.store.tables import lead_events, offers
from tests.conftest import deliver_all
from tests.e2e.serving import start_serve, stop
from tests.factories import SRC, SYSTEM, apply, config, lead, partner
from tests.fakes import RecordingMessenger

SWEEP_SECONDS = 1.0
N = 20


async def _prepare(url: str) -> None:
    """Twenty delivered offers with windows far longer than a start of `serve` takes."""
    services = build(
        Settings(database_url=url, _env_file=None),  # type: ignore[call-arg]
        messengers={"slack": RecordingMessenger("slack")},
    )
    try:
        await apply(
            services,
            config([partner("acme")], offer_timeout="1h", max_rounds=1, reminder_before="0s"),
        )
        for i in range(N):
            await services.submit_lead(lead(f"k-{i}"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        async with services.uow() as uow:
            deadlines = (await uow.execute(select(offers.c.expires_at))).scalars().all()
    finally:
        await services.close()
    assert len(deadlines) == N and all(deadlines)


async def _time_passes(url: str) -> None:
    """While the process is dead every window runs out (set in the database, not slept)."""
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.uow() as uow:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await uow.execute(update(offers).values(expires_at=past))
            await uow.commit()
    finally:
        await services.close()


async def _handled(url: str) -> tuple[Counter[str], Counter[int]]:
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.uow() as uow:
            statuses = Counter((await uow.execute(select(offers.c.status))).scalars().all())
            rows = (await uow.execute(select(lead_events.c.offer_id, lead_events.c.kind))).all()
    finally:
        await services.close()
    return statuses, Counter(offer_id for offer_id, kind in rows if kind == "expired")


def test_kill_9_then_restart_handles_every_overdue_offer_once(database_url, tmp_path):
    asyncio.run(_prepare(database_url))
    env = dict(
        DATABASE_URL=database_url,
        LEADBOT_CONFIG=str(tmp_path / "none.yaml"),
        LEADBOT_SWEEP_INTERVAL=str(SWEEP_SECONDS),
    )
    first, _ = start_serve(tmp_path, **env)  # re-arms the 20 timers from the database...
    first.send_signal(signal.SIGKILL)  # ...and dies before any of them fires
    first.communicate(timeout=10)
    statuses, _ = asyncio.run(_handled(database_url))
    assert statuses == {"pending": N}
    asyncio.run(_time_passes(database_url))

    second, _ = start_serve(tmp_path, **env)
    started = time.monotonic()
    try:
        while True:
            statuses, expired = asyncio.run(_handled(database_url))
            if statuses == {"expired": N} or time.monotonic() - started > 20:
                break
            time.sleep(0.05)  # polling another process's database, bounded above
    finally:
        output = stop(second)
    assert statuses == {"expired": N}, output
    assert len(expired) == N and set(expired.values()) == {1}  # none handled twice
