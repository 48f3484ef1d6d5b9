"""B6: 100 leads for one partner within one second, against a fake Slack Web API on loopback
that answers 429 (Retry-After: 1) to a second chat.postMessage in a channel within 1 s.

Leadbot runs as `leadbot serve` does (HTTP intake, express lane, outbox sender) with the real
SlackMessenger. Printed: 429s, cards delivered, and the delivery rate in the channel against the
limit. Baseline in the same run: the same burst with pacing off, left to Slack's 429s and
Retry-After alone.

    python -m benchmarks.slack_burst [--leads 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.common import configure, fresh_database
from bot.bootstrap import build
from bot.config import Settings
from bot.handlers.http import create_app
from bot.handlers.slack.messenger import SLACK_PACE, SlackMessenger
from bot.handlers.slack.retry import retry_handlers
from bot.messaging import Pace
from bot.sandbox.serving import serve_app
from bot.sandbox.slack import FakeSlack

CHANNEL = "C-ACME"
LIMIT = 1.0  # messages a second per channel, as the fake enforces
CONFIG = {
    "policy": {"offer_timeout": "30m"},
    "managers": {"slack_channel": "C-MANAGERS"},
    "partners": [
        {
            "slug": "acme",
            "name": "ACME",
            "territories": ["DE:8"],
            "slack_channel": CHANNEL,
            "capacity": 1_000_000,
        }
    ],
}


async def burst(url: str, count: int, pace: Pace) -> dict[str, Any]:
    fake = FakeSlack(gap=1 / LIMIT)
    await fake.start()
    slack = SlackMessenger(
        AsyncWebClient(
            token="xoxb-bench", base_url=f"{fake.url}/api/", retry_handlers=retry_handlers()
        ),
        pace=pace,
    )
    services = build(
        Settings(
            database_url=url, leadbot_api_rate=10_000, leadbot_api_burst=10_000, _env_file=None
        ),
        messengers={"slack": slack},
        poll_interval=0.2,
    )
    await fresh_database(services)
    key = await configure(services, CONFIG, key=True)
    await services.start()
    port, stop = await serve_app(create_app(services))
    try:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
        ) as client:
            started = time.monotonic()

            async def post(n: int) -> int:
                await asyncio.sleep(n / count)  # spread over one second
                body = {"source": "b6", "external_id": str(n), "country": "DE", "postcode": "80331"}
                return (await client.post("/api/v1/leads", json=body)).status_code

            codes = await asyncio.gather(*(post(n) for n in range(count)))
            posted_in = time.monotonic() - started
        assert all(code == 201 for code in codes), codes
        with contextlib.suppress(TimeoutError):  # a bounded wait for the last card
            async with asyncio.timeout(count / LIMIT * 3 + 30):
                await fake.wait_posts(CHANNEL, count)
        times = fake.posted.get(CHANNEL, [])
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return {
            "leads": count,
            "posted_within_s": round(posted_in, 2),
            "delivered": len(times),
            "responses_429": fake.limited,
            "first_card_s": round(times[0] - started, 2) if times else None,
            "last_card_s": round(times[-1] - started, 1) if times else None,
            "rate_per_s": round(rate, 3),
            "rate_to_limit": round(rate / LIMIT, 3),
            "min_gap_s": round(min(b - a for a, b in zip(times, times[1:], strict=False)), 3)
            if len(times) > 1
            else None,
        }
    finally:
        await stop()
        await services.close()
        await fake.stop()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        paced_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'paced.db'}"
        paced = await burst(paced_url, args.leads, SLACK_PACE)
        bare_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bare.db'}"
        bare = await burst(bare_url, args.leads, Pace())
    return {
        "benchmark": "B6 slack burst",
        "database": (args.database_url or "sqlite").split("+")[0],
        "limit_per_channel_per_s": LIMIT,
        **paced,
        "baseline_unpaced": bare,
        "met": paced["responses_429"] == 0
        and paced["delivered"] == args.leads
        and paced["rate_to_limit"] >= 0.9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
