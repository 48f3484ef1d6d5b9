"""Soak: two `leadbot serve` instances on one PostgreSQL, leads over HTTP at a steady rate for
minutes, partner reps pressing the real buttons, then every lead accounted for.

The instances run as `leadbot serve` does (Slack in HTTP mode, Telegram in webhook mode: the
way to run several), against the sandbox's fake Slack and Telegram in this process, which
enforce nothing but record everything. Leads alternate between the instances as behind a load
balancer; the demo's simulated reps (bot/demo/people.py) read each card and press Accept (80%)
or Decline with a reason (10%), or let it run out (10%), through signed Slack requests and
Telegram updates, also alternating. Offer windows are compressed (`--window`, 20 s for 30 m),
so a card that nobody answers expires and its lead moves on, again and again, in the run.

Printed (one JSON line): error responses (intake and presses; must be 0), duplicates (a card
shown twice in a chat, a lead offered twice to one partner, two accepted offers; 0), RSS of
each instance at start and end, leads by status at the end (they must sum to the leads sent),
intake latency p50/p99, and the baseline: the same run's first minute against its last.

    python -m benchmarks.soak --database-url postgresql+asyncpg://…/test_rel [--rate 50]
                              [--seconds 600] [--window 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.soak_cast import (
    NO_ANSWER,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Answerers,
    Balancer,
    Client,
    cpu_seconds,
    layout,
    postcode,
    rss_mb,
    serve_env,
)
from bot.bootstrap import build
from bot.config import Settings
from bot.demo.board import Board
from bot.demo.hands import SlackHand, TelegramHand
from bot.demo.people import Cast
from bot.demo.stage import WatchedSlack, WatchedTelegram
from bot.store.migrate import migrate
from bot.store.tables import leads, offers
from tests.consistency import problems
from tests.e2e.live import Serve, start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def fresh_database(url: str) -> str:
    """An empty, migrated database and an API key for the run."""
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await migrate(services.engine)
        async with services.uow() as uow:
            key = await uow.apikeys.create("soak", now=services.ctx.now())
            await uow.commit()
        return key
    finally:
        await services.close()


class Feed:
    """Leads at a steady rate, alternating between the instances; each answer timed."""

    def __init__(self, clients: list[Client], key: str) -> None:
        self.clients, self.key = clients, key
        self.latency: list[tuple[float, float]] = []  # (seconds into the run, latency)
        self.statuses: Counter[int] = Counter()
        self.sent: set[str] = set()

    async def one(self, n: int, at: float) -> None:
        external = f"soak-{n}"
        body = {"source": "soak", "external_id": external, "country": "DE",
                "postcode": postcode(n),
                "contact": {"name": "Soak Test", "email": f"s{n}@example.com"}}  # fmt: skip
        t0 = time.perf_counter()
        try:
            r = await self.clients[n % len(self.clients)].post(
                "/api/v1/leads", json=body, headers={"Authorization": f"Bearer {self.key}"}
            )
            status = r.status_code
        except NO_ANSWER:
            status = 0  # no answer at all
        self.latency.append((at, time.perf_counter() - t0))
        self.statuses[status] += 1
        if status in (200, 201):
            self.sent.add(external)

    async def run(self, rate: float, seconds: float, started: float) -> None:
        tasks = []
        for n in range(int(rate * seconds)):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(n, time.perf_counter() - started)))
        await asyncio.gather(*tasks)


async def sample_rss(serves: list[Serve], into: list[tuple[float, list[float]]],
                     started: float, stop: asyncio.Event) -> None:  # fmt: skip
    while not stop.is_set():
        into.append((time.perf_counter() - started, [rss_mb(s.proc.pid) for s in serves]))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)


async def tally(url: str) -> dict[str, Any]:
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.uow() as uow:
            rows = await uow.execute(select(leads.c.status, func.count()).group_by(leads.c.status))
            by_status = {status: n for status, n in rows}
            twice = select(offers.c.lead_id, offers.c.partner_id).group_by(
                offers.c.lead_id, offers.c.partner_id
            )
            offered_twice = len((await uow.execute(twice.having(func.count() > 1))).all())
            wrong = await problems(uow)
        return {"by_status": by_status, "offered_twice": offered_twice, "problems": wrong}
    finally:
        await services.close()


def window_stats(values: list[tuple[float, float]], lo: float, hi: float) -> dict[str, float]:
    chosen = [v for t, v in values if lo <= t < hi]
    if not chosen:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    return {"p50_ms": round(statistics.median(chosen) * 1000, 1),
            "p99_ms": round(pct(chosen, 0.99) * 1000, 1)}  # fmt: skip


async def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    key = await fresh_database(args.database_url)
    board = Board()
    slack, telegram = WatchedSlack(board=board), WatchedTelegram(board=board)
    await slack.start()
    await telegram.start()
    document = layout(args.window)
    (tmp / "leadbot.yaml").write_text(json.dumps(document), encoding="utf-8")
    serves: list[Serve] = []
    try:
        for name in ("a", "b"):  # one after the other: each applies leadbot.yaml at start
            env = serve_env(args.database_url, tmp / "leadbot.yaml", slack, telegram, name)
            serves.append(await start(tmp, f"serve-{name}", env))
        clients = [Client(s.url) for s in serves]
        hands = Balancer(clients)
        people = Answerers(
            board, Cast.from_document(document),
            SlackHand(hands, SIGNING_SECRET, slack.url),  # type: ignore[arg-type]
            TelegramHand(hands, WEBHOOK_SECRET),  # type: ignore[arg-type]
            seed=7, window=args.window, decline_reasons=["not_a_fit", "no_capacity"],
        )  # fmt: skip
        feed, rss, stop = Feed(clients, key), [], asyncio.Event()
        started = time.perf_counter()
        sampler = asyncio.create_task(sample_rss(serves, rss, started, stop))
        await feed.run(args.rate, args.seconds, started)
        fed_for = time.perf_counter() - started
        settled = await settle(args.database_url, len(feed.sent), args.window * 6)
        stop.set()
        await sampler
        for task in list(people.tasks):
            task.cancel()
        end = await tally(args.database_url)
        serve_cpu = [cpu_seconds(s.proc.pid) for s in serves]
        codes = [await s.stop() for s in serves]
        for c in clients:
            await c.aclose()
    finally:
        for s in serves:
            if s.proc.poll() is None:
                s.proc.kill()
        await slack.stop()
        await telegram.stop()
    shown = Counter()
    for event in board.events:
        if event.kind == "post" and event.is_offer:
            shown[(event.platform, event.chat, event.buttons["Accept"])] += 1
    minute = min(60.0, args.seconds / 3)
    first, last = (0.0, minute), (args.seconds - minute, args.seconds)
    rss_first = [max(r[i] for t, r in rss if t < minute) for i in range(len(serves))]
    rss_last = [max(r[i] for t, r in rss if t >= rss[-1][0] - minute) for i in range(len(serves))]
    errors = sum(n for status, n in feed.statuses.items() if status not in (200, 201))
    errors += sum(n for status, n in hands.statuses.items() if status != 200)
    errors += len(people.crashed)  # a rep's press that raised (no answer, or a driver bug)
    accounted = sum(end["by_status"].values())
    duplicates = sum(n > 1 for n in shown.values()) + end["offered_twice"]
    result = {
        "benchmark": "soak: two instances, one PostgreSQL",
        "database": "postgresql",
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "fed_in_s": round(fed_for, 1),
        "window_s": args.window,
        "leads_sent": len(feed.sent),
        "intake_answers": dict(feed.statuses),
        "presses": dict(hands.statuses),
        "error_responses": errors,
        "cards_shown": len(shown),
        "duplicate_offers": duplicates,
        "consistency_problems": len(end["problems"]),
        "leads_by_status": end["by_status"],
        "accounted": accounted,
        "settled_in_s": settled,
        "rss_start_mb": rss_first,
        "rss_end_mb": rss_last,
        **{f"intake_{k}": v for k, v in window_stats(feed.latency, 0, args.seconds).items()},
        **{f"baseline_first_minute_{k}": v for k, v in window_stats(feed.latency, *first).items()},
        **{f"last_minute_{k}": v for k, v in window_stats(feed.latency, *last).items()},
        "exit_codes": codes,
        # CPU each instance used, and the driver beside them on the same machine (both fakes,
        # the reps, the load): what a lead costs, and what limits the rate here
        "serve_cpu_s": serve_cpu,
        "serve_cpu_ms_per_lead": round(sum(serve_cpu) * 1000 / max(1, len(feed.sent)), 1),
        "driver_cpu_s": round(time.process_time(), 1),
    }
    if people.crashed:
        result["crashed_presses_sample"] = people.crashed[:3]
    if hands.refused:
        result["refused_presses_sample"] = hands.refused[:3]
    flat = all(e <= s * 1.25 + 10 for s, e in zip(rss_first, rss_last, strict=True))
    result["met"] = (
        errors == 0 and duplicates == 0 and not end["problems"] and accounted == len(feed.sent)
        and flat and codes == [0, 0]
    )  # fmt: skip
    if end["problems"]:
        result["problems_sample"] = end["problems"][:5]
    if duplicates:
        result["duplicates_sample"] = [list(k) for k, n in shown.items() if n > 1][:5]
    return result


async def settle(url: str, sent: int, within: float) -> float | None:
    """Seconds until no lead is still new or on offer (the reps and timers done), or None."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        by_status = await tally_quick(url)
        if by_status.get("new", 0) + by_status.get("offered", 0) == 0:
            return round(time.perf_counter() - started, 1)
        await asyncio.sleep(1)
    return None


async def tally_quick(url: str) -> dict[str, int]:
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.uow() as uow:
            rows = await uow.execute(select(leads.c.status, func.count()).group_by(leads.c.status))
            return {status: n for status, n in rows}
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL (it is emptied)")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--window", type=float, default=20, help="offer window, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadbot-soak-") as tmp:
        print(json.dumps(asyncio.run(soak(args, Path(tmp)))))


if __name__ == "__main__":
    main()
