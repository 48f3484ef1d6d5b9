"""PostgreSQL restarted under load (`pg_ctlcluster … restart`) while a real `leadbot serve` takes
leads and Accept presses: it recovers by itself, `/healthz` says 503 while the database is
down and 200 after, requests meanwhile get a clear 503 with Retry-After (never a 500), and no
lead that got a 2xx is lost; a client retrying its 503s gets every lead stored exactly once.

Opt-in: it restarts the machine's PostgreSQL server (every database on it is away for a few
seconds). Run with `LEADBOT_FAULT_TESTS=1 TEST_DATABASE_URL=postgresql+asyncpg://…`; the
restart command is `pg_ctlcluster <version> main restart`, or `LEADBOT_PG_RESTART`.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot.sandbox.slack import FakeSlack
from bot.store.db import is_sqlite
from tests.consistency import problems
from tests.e2e.live import Intake, Presser, document, prepare, slack_env, start
from tests.e2e.test_kill_during_burst import _db, _pending, _posts, _stored

pytestmark = pytest.mark.skipif(
    os.environ.get("LEADBOT_FAULT_TESTS") != "1",
    reason="restarts PostgreSQL: set LEADBOT_FAULT_TESTS=1 (docs/reliability.md)",
)
RATE = 20.0


def restart_command() -> list[str]:
    given = os.environ.get("LEADBOT_PG_RESTART")
    if given:
        return shlex.split(given)
    (version,) = [p.name for p in Path("/etc/postgresql").iterdir()]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]


def restart_postgres() -> None:
    subprocess.run(restart_command(), check=True, capture_output=True, timeout=60)
    for _ in range(300):  # make sure it is back for everyone on this machine
        if subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("PostgreSQL did not come back within 30 s")


class Health:
    """/healthz every 100 ms: (seconds since start, status, database field)."""

    def __init__(self, url: str) -> None:
        self.url, self.seen, self.started = url, [], time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while not stop.is_set():
                try:
                    r = await client.get(f"{self.url}/healthz")
                    self.seen.append((time.monotonic() - self.started, r.status_code,
                                      r.json().get("database")))  # fmt: skip
                except httpx.TransportError as exc:
                    self.seen.append((time.monotonic() - self.started, 0, repr(exc)))
                await asyncio.sleep(0.1)


async def test_a_database_restart_under_load_loses_nothing(database_url, tmp_path):
    if is_sqlite(database_url):
        pytest.skip("restarts PostgreSQL: needs TEST_DATABASE_URL")
    fake = FakeSlack()
    await fake.start()
    try:
        config, key = await prepare(database_url, tmp_path, document(20))
        serve = await start(tmp_path, "serve", slack_env(database_url, config, fake))
        intake, stop, health = Intake(key), asyncio.Event(), Health(serve.url)
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as client:
            presser = Presser(fake, client)
            running = [
                asyncio.create_task(intake.paced(client, RATE, stop)),
                asyncio.create_task(presser.run(stop)),
                asyncio.create_task(health.run(stop)),
            ]
            await asyncio.sleep(5)  # load for a while first (the test's own timeline)
            went_down = time.monotonic() - health.started
            await asyncio.to_thread(restart_postgres)
            came_back = time.monotonic() - health.started
            async with asyncio.timeout(60):  # the service recovers by itself
                while not health.seen or health.seen[-1][1] != 200:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            recovered = time.monotonic() - health.started
            await asyncio.sleep(5)  # and takes load again
            stop.set()
            await asyncio.gather(*running)
            answered = Counter(status for _, status in intake.answers)
            refused = [e for e, status in intake.answers if status == 503]
            for external_id in refused:  # as a client told to retry would
                async with asyncio.timeout(30):
                    while await intake.one(client, external_id) not in (200, 201):  # noqa: ASYNC110
                        await asyncio.sleep(0.5)
        # every card out, sooner than the 60 s lease of what a lane was holding in the outage
        async with asyncio.timeout(30):
            while await _db(database_url, _pending):  # noqa: ASYNC110 -- another process
                await asyncio.sleep(0.5)
        drained = time.monotonic() - health.started
        code = await serve.stop()
        log = serve.log()
        print(
            f"\nrestart took {came_back - went_down:.1f} s; healthy again "
            f"{recovered - came_back:.1f} s after; outbox empty {drained - came_back:.1f} s after; "
            f"answers {dict(answered)}; "
            f"/healthz 503 for {sum(1 for _, s, _ in health.seen if s == 503) / 10:.1f} s"
        )
        assert code == 0, log[-3000:]
        assert not intake.errors, intake.errors[:3]  # every request was answered
        assert set(answered) <= {200, 201, 503} and answered[503] > 0, answered
        assert all(b["headers"].get("retry-after") and "database is unavailable" in b["body"]
                   for b in intake.bodies)  # fmt: skip
        down = [d for t, s, d in health.seen if s == 503]
        assert down and all(str(d).startswith("unreachable") for d in down)
        assert health.seen[-1][1] == 200
        stored = await _db(database_url, _stored)
        assert set(intake.ids.values()) <= stored and len(stored) == len(intake.ids)
        assert await _db(database_url, problems) == []
        assert set(_posts(fake).values()) == {1}
        assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:4000]
    finally:
        await fake.stop()
