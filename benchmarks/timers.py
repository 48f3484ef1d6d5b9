"""B4: 10,000 pending offers expiring over 60 s.

Prints one JSON line: how late each expiry was handled (p50/p99/max: `responded_at` minus
`expires_at`, as stored), how many were handled, and the peak RSS of the process; next to the
baseline measured in the same run: bare asyncio timers (`loop.call_at`) on the same schedule,
with no database. Targets: p99 lateness <= 1 s, all handled, RSS <= 200 MB.

    python -m benchmarks.timers [--offers 10000] [--spread 60] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from benchmarks.common import fresh_database
from bot.bootstrap import build
from bot.config import Settings
from bot.policy_file import validate_document
from bot.store.tables import leads, offers, partners

CONFIG = {
    "policy": {"offer_timeout": "30m", "max_rounds": 1, "reminder_before": "0s"},
    # a managers' chat, so every expiry escalates the way it would in production
    "managers": {"slack_channel": "C-MANAGERS"},
    "partners": [
        {
            "slug": "acme",
            "name": "ACME",
            "territories": ["DE:8"],
            "slack_channel": "C-ACME",
            "capacity": 1_000_000,
        }
    ],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def baseline(deadlines: list[float]) -> list[float]:
    """Lateness of bare loop.call_at callbacks on the same schedule (seconds)."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    done = asyncio.Event()
    base = time.time() - loop.time()
    for at in deadlines:
        loop.call_at(
            at - base,
            lambda at=at: (
                late.append(time.time() - at),
                len(late) == len(deadlines) and done.set(),
            ),
        )
    await done.wait()
    return late


async def seed(services, n: int, start: datetime, spread: float, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """n offered leads, each with one delivered offer expiring within `spread` seconds."""
    async with services.uow() as uow:
        cfg = validate_document(CONFIG)
        await uow.config.apply(cfg, CONFIG, source_file="bench", now=start)
        await uow.commit()
    async with services.uow() as uow:
        pid = (await uow.execute(select(partners.c.id))).scalar_one()
    lead_rows, offer_rows = [], []
    for i in range(1, n + 1):
        lead_rows.append(
            dict(
                id=i,
                public_id=f"B{i:07d}",
                source="bench",
                external_id=str(i),
                received_at=start,
                country="DE",
                postcode="80331",
                specialties=[],
                status="offered",
                stage="none",
                policy_version=1,
                round=1,
                updated_at=start,
            )
        )
        expires = start + timedelta(seconds=rng.uniform(5, 5 + spread))
        offer_rows.append(
            dict(
                id=i,
                lead_id=i,
                partner_id=pid,
                round=1,
                mode="exclusive",
                status="pending",
                created_at=start,
                delivered_at=start,
                expires_at=expires,
                why="bench",
            )
        )
    async with services.uow() as uow:
        for i in range(0, n, 2000):
            await uow.execute(leads.insert().values(lead_rows[i : i + 2000]))  # type: ignore[arg-type]
            await uow.execute(offers.insert().values(offer_rows[i : i + 2000]))  # type: ignore[arg-type]
        await uow.commit()


async def measure(url: str, n: int, spread: float, seed_value: int) -> dict[str, object]:
    rng = random.Random(seed_value)
    services = build(Settings(database_url=url, leadbot_sweep_interval=15, _env_file=None))  # type: ignore[call-arg]
    try:
        await fresh_database(services)
        start = datetime.now(UTC)
        await seed(services, n, start, spread, rng)
        async with services.uow() as uow:
            deadlines = [
                at.timestamp() for at in (await uow.execute(select(offers.c.expires_at))).scalars()
            ]
        bare = asyncio.create_task(baseline(deadlines))
        started = time.monotonic()
        await services.start()
        limit = spread + 5 + 60
        while time.monotonic() - started < limit:
            async with services.uow() as uow:
                left = (
                    await uow.execute(
                        select(offers.c.id).where(offers.c.status == "pending").limit(1)
                    )
                ).first()
            if left is None:
                break
            await asyncio.sleep(0.5)
        await services.stop()
        async with services.uow() as uow:
            rows = (
                await uow.execute(
                    select(offers.c.expires_at, offers.c.responded_at, offers.c.status)
                )
            ).all()
        bare_late = await bare
    finally:
        await services.close()
    late = [(r.responded_at - r.expires_at).total_seconds() for r in rows if r.responded_at]
    handled = sum(r.status == "expired" for r in rows)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p99 = percentile(late, 0.99) if late else float("inf")
    return {
        "benchmark": "B4 timers",
        "database": url.split("+")[0],
        "offers": n,
        "spread_s": spread,
        "handled": handled,
        "lateness_p50_s": round(statistics.median(late), 3) if late else None,
        "lateness_p99_s": round(p99, 3),
        "lateness_max_s": round(max(late), 3) if late else None,
        "baseline_call_at_p50_s": round(statistics.median(bare_late), 4),
        "baseline_call_at_p99_s": round(percentile(bare_late, 0.99), 4),
        "peak_rss_mb": round(rss_mb, 1),
        "targets": {"lateness_p99_s": 1.0, "handled": n, "peak_rss_mb": 200},
        "met": handled == n and p99 <= 1.0 and rss_mb <= 200,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(json.dumps(asyncio.run(measure(url, args.offers, args.spread, args.seed))))


if __name__ == "__main__":
    main()
