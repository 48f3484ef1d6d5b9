"""B4, second half: `kill -9` of a real `leadbot serve` holding armed offer timers; after the
restart, every overdue offer is handled within one sweep interval.

N pending offers (default 10,000) are due in an hour. A `leadbot serve` process starts
(re-arming them all from the database) and is killed with SIGKILL. While it is dead their
windows run out (the deadlines are moved to the past in the database: the hour passes), and a
second process starts; printed: how long until every offer was handled (expired, its lead
moved on), counted from the moment the second process was started (and when it first answered
/healthz), and how many were handled twice (audit events). Baseline in the same run: the sweep
interval itself. Target: all handled, none twice, within one sweep interval of the restart.

    python -m benchmarks.restart [--offers 10000] [--sweep 15] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, func, select, update

from benchmarks.common import fresh_database
from benchmarks.timers import seed
from bot.bootstrap import build
from bot.config import Settings
from bot.sandbox.serving import free_port
from bot.store.tables import lead_events, offers
from tests.e2e.serving import start_serve


def _services(url: str):  # type: ignore[no-untyped-def]
    return build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]


async def prepare(url: str, n: int) -> None:
    """N delivered, pending offers, due in about an hour."""
    services = _services(url)
    try:
        await fresh_database(services)
        await seed(services, n, datetime.now(UTC), 10.0, random.Random(1))
        await _shift(services, timedelta(hours=1))
    finally:
        await services.close()


async def time_passes(url: str) -> None:
    """The process is dead while every window runs out: deadlines 1 to 11 s in the past."""
    services = _services(url)
    try:
        await _shift(services, -timedelta(hours=1, seconds=16))
    finally:
        await services.close()


async def _shift(services, by: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move every deadline by `by` (read and written back: portable date arithmetic)."""
    async with services.engine.begin() as conn:
        rows = (await conn.execute(select(offers.c.id, offers.c.expires_at))).all()
        at = bindparam("at")
        stmt = update(offers).where(offers.c.id == bindparam("oid")).values(expires_at=at)
        await conn.execute(stmt, [{"oid": i, "at": at + by} for i, at in rows])


async def state(url: str) -> tuple[Counter[str], int]:
    """Offers by status, and how many offers have more than one 'expired' event."""
    services = _services(url)
    try:
        async with services.uow() as uow:
            statuses = Counter((await uow.execute(select(offers.c.status))).scalars().all())
            twice = select(lead_events.c.offer_id).where(lead_events.c.kind == "expired")
            twice = twice.group_by(lead_events.c.offer_id).having(func.count() > 1)
            doubled = len((await uow.execute(twice)).all())
    finally:
        await services.close()
    return statuses, doubled


def measure(url: str, n: int, sweep: float, tmp: Path) -> dict[str, Any]:
    asyncio.run(prepare(url, n))
    env = {
        "DATABASE_URL": url,
        "LEADBOT_CONFIG": str(tmp / "none.yaml"),
        "LEADBOT_SWEEP_INTERVAL": str(sweep),
    }
    first, _ = start_serve(tmp, **env)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    before, _ = asyncio.run(state(url))
    asyncio.run(time_passes(url))
    port = free_port()
    spawned = time.monotonic()
    second = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp,
        env={**os.environ, **env, "LEADBOT_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthy = done = None
    try:
        while time.monotonic() - spawned < 20 * sweep:
            if healthy is None and _healthy(port):
                healthy = time.monotonic() - spawned
            statuses, doubled = asyncio.run(state(url))
            if statuses.get("pending", 0) == 0:
                done = time.monotonic() - spawned
                break
            time.sleep(0.2)  # polling another process's progress
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=60)
    handled = statuses.get("expired", 0)
    return {
        "benchmark": "B4 restart after kill -9",
        "database": url.split("+")[0],
        "offers": n,
        "pending_when_killed": before.get("pending", 0),
        "handled": handled,
        "handled_twice": doubled,
        "restart_to_all_handled_s": round(done, 2) if done is not None else None,
        "restart_to_healthy_s": round(healthy, 2) if healthy is not None else None,
        "baseline_sweep_interval_s": sweep,
        "met": handled == n and doubled == 0 and done is not None and done <= sweep,
    }


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--sweep", type=float, default=15.0, help="LEADBOT_SWEEP_INTERVAL")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(json.dumps(measure(url, args.offers, args.sweep, Path(tmp))))


if __name__ == "__main__":
    main()
