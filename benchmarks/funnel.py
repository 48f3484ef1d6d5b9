"""B5: `funnel all 90d` over a large history, next to a plain count(*) over the same rows.

Fills the database in SQL (a recursive CTE on SQLite, generate_series on PostgreSQL): N leads
over 120 days, one offer each (70% accepted, 20% declined, 10% expired), one event each, and
stages for the accepted ones. Then times, best of 3 rounds: `funnel all 90d` as the command
runs it (refresh the rollup, then everything and per partner), next to `SELECT count(*)` of the
period's leads. Also printed: the same funnel read live before the rollup existed, the first
build of the rollup, and a refresh after 1,000 leads changed.

    python -m benchmarks.funnel [--leads 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select, text

from bot.bootstrap import build
from bot.config import Settings
from bot.domain.periods import parse_period
from bot.policy_file import validate_document
from bot.reports import rollup
from bot.reports.funnel import funnel, funnel_all
from bot.store.migrate import migrate
from bot.store.tables import leads, offers

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PARTNERS = 50
CONFIG = {
    "managers": {"slack_channel": "C-MANAGERS"},
    "partners": [
        {
            "slug": f"p{i:02d}",
            "name": f"Partner {i}",
            "territories": ["DE:8"],
            "slack_channel": f"C-P{i}",
        }
        for i in range(PARTNERS)
    ],
}

# n runs 1..N; lead n arrives (n * 120 days / N) before NOW; its partner is n % PARTNERS + 1
FILL = {
    "leads": """
INSERT INTO leads (id, public_id, source, received_at, country, postcode, specialties, status,
                   stage, policy_version, round, updated_at, partner_id, stage_value,
                   contacted_at, qualified_at, opportunity_at, escalations)
SELECT n, 'B' || n, CASE WHEN n % 3 = 0 THEN 'fair' ELSE 'website' END, {received}, 'DE',
       '80331', '[]',
       CASE WHEN n % 10 < 7 THEN (CASE WHEN n % 7 IN (0, 1) THEN 'closed' ELSE 'accepted' END)
            ELSE 'unassigned' END,
       CASE WHEN n % 10 >= 7 THEN 'none' WHEN n % 7 = 0 THEN 'won' WHEN n % 7 = 1 THEN 'lost'
            WHEN n % 7 = 2 THEN 'contacted' ELSE 'accepted' END,
       1, 1, {received}, CASE WHEN n % 10 < 7 THEN n % {partners} + 1 END,
       CASE WHEN n % 10 < 7 AND n % 7 = 0 THEN 1000 + n % 5000 END,
       CASE WHEN n % 10 < 7 AND n % 7 IN (0, 2) THEN {received_plus_hours} END,
       CASE WHEN n % 10 < 7 AND n % 7 = 0 THEN {received_plus_hours} END,
       CASE WHEN n % 10 < 7 AND n % 7 = 0 THEN {received_plus_hours} END,
       0
FROM {series}""",
    "offers": """
INSERT INTO offers (id, lead_id, partner_id, round, mode, status, created_at, delivered_at,
                    responded_at, decline_reason)
SELECT n, n, n % {partners} + 1, 1, 'exclusive',
       CASE WHEN n % 10 < 7 THEN 'accepted' WHEN n % 10 < 9 THEN 'declined' ELSE 'expired' END,
       {received}, {received}, {received_plus_minutes},
       CASE WHEN n % 10 IN (7, 8) THEN 'not_my_area' END
FROM {series}""",
    "lead_events": """
INSERT INTO lead_events (lead_id, at, kind, actor, source, data)
SELECT n, {received}, 'received', 'bench', 'api', '{{}}' FROM {series}""",
}


def dialect_parts(dialect: str, count: int) -> dict[str, str]:
    if dialect == "postgresql":
        base = "TIMESTAMP '2026-06-01 00:00:00'"
        received = f"({base} - (n * INTERVAL '120 days') / {count})"
        return {
            "series": f"generate_series(1, {count}) AS s(n)",
            "received": received,
            "received_plus_hours": f"({received} + (1 + n % 48) * INTERVAL '1 hour')",
            "received_plus_minutes": f"({received} + (1 + n % 90) * INTERVAL '1 minute')",
        }
    received = f"datetime('2026-06-01', '-' || (n * 120.0 / {count}) || ' days')"
    return {
        "series": f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
        f"WHERE n < {count}) SELECT n FROM s)",
        "received": received,
        "received_plus_hours": f"datetime({received}, '+' || (1 + n % 48) || ' hours')",
        "received_plus_minutes": f"datetime({received}, '+' || (1 + n % 90) || ' minutes')",
    }


async def main_async(url: str, count: int) -> dict[str, Any]:
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        await migrate(services.engine)
        dialect = services.engine.dialect.name
        async with services.engine.begin() as conn:
            if dialect == "postgresql":
                await conn.execute(
                    text(
                        "TRUNCATE leads, offers, lead_events, lead_contacts, offer_messages, "
                        "outbox, partners, destinations, members, chat_accounts, "
                        "policy_versions RESTART IDENTITY CASCADE"
                    )
                )
        async with services.uow() as uow:
            await uow.config.apply(validate_document(CONFIG), CONFIG, source_file="b5", now=NOW)
            await uow.commit()
        started = time.perf_counter()
        parts = dialect_parts(dialect, count) | {"partners": str(PARTNERS)}
        async with services.engine.begin() as conn:
            for statement in FILL.values():
                await conn.execute(text(statement.format(**parts)))
            if dialect == "postgresql":
                await conn.execute(text("ANALYZE"))
            else:
                await conn.execute(text("ANALYZE"))
        filled = time.perf_counter() - started
        asked = NOW + timedelta(hours=10, minutes=42)  # partial days at both ends, read live
        period = parse_period("90d", now=asked)
        in_period = and_(leads.c.received_at >= period.start, leads.c.received_at < period.end)

        async def refresh() -> int:
            async with services.uow() as uow:
                days = await rollup.refresh(uow, now=asked)
                await uow.commit()
            return days

        async def the_funnel() -> int:
            """What `funnel all 90d` does: fold changed days in, then the two reads."""
            await refresh()
            async with services.uow() as uow:
                rows, total = await funnel_all(uow, period)
            assert len(rows) == PARTNERS
            return total.leads

        async def live_funnel() -> tuple[int, float | None]:
            async with services.uow() as uow:
                (total,) = await funnel(uow, period, by="all")
            return total.leads, total.accept_p50

        # the same answer from the leads and offers alone, before the rollup exists
        t0 = time.perf_counter()
        live_answer = await live_funnel()
        live_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        built_days = await refresh()
        build_s = time.perf_counter() - t0
        async with services.uow() as uow:
            (total,) = await funnel(uow, period, by="all")
        assert (total.leads, total.accept_p50) == live_answer, (total, live_answer)

        async def the_count() -> int:
            async with services.uow() as uow:
                stmt = select(func.count()).select_from(leads).where(in_period)
                return int((await uow.execute(stmt)).scalar_one())

        async def the_join_count() -> int:
            """count(*) over the rows the funnel reads: the period's leads with their offers."""
            async with services.uow() as uow:
                stmt = (
                    select(func.count())
                    .select_from(offers.join(leads, leads.c.id == offers.c.lead_id))
                    .where(in_period)
                )
                return int((await uow.execute(stmt)).scalar_one())

        timings: dict[str, float] = {}
        answers: dict[str, int] = {}
        jobs = (("count", the_count), ("join_count", the_join_count), ("funnel", the_funnel))
        for name, job in jobs:
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                answers[name] = await job()
                best = min(best, time.perf_counter() - t0)
            timings[name] = best
        assert answers["funnel"] == answers["count"] == answers["join_count"], answers
        ratio = timings["funnel"] / timings["count"]

        # a day of work later: 1,000 leads of the last three days change stage
        async with services.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO lead_events (lead_id, at, kind, actor, source, data) "
                    "SELECT id, received_at, 'stage_changed', 'bench', 'api', '{}' FROM leads "
                    "ORDER BY received_at DESC LIMIT 1000"
                )
            )
        t0 = time.perf_counter()
        changed_days = await refresh()
        refresh_s = time.perf_counter() - t0
        return {
            "benchmark": "B5 funnel all 90d",
            "database": dialect,
            "leads": count,
            "leads_in_period": answers["count"],
            "fill_s": round(filled, 1),
            "live_funnel_all_s": round(live_s, 2),
            "rollup_build_s": round(build_s, 2),
            "rollup_days": built_days,
            "refresh_after_1000_changes_ms": round(refresh_s * 1000, 1),
            "days_refreshed": changed_days,
            "funnel_ms": round(timings["funnel"] * 1000, 1),
            "baseline_count_ms": round(timings["count"] * 1000, 1),
            "ratio": round(ratio, 2),
            "baseline_join_count_ms": round(timings["join_count"] * 1000, 1),
            "ratio_to_join_count": round(timings["funnel"] / timings["join_count"], 2),
            "met": ratio <= 5,
        }
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'b5.db'}"
        print(json.dumps(asyncio.run(main_async(url, args.leads))))


if __name__ == "__main__":
    main()
