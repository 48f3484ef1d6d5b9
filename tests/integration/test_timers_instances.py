"""Two engine instances on one database sweep 500 due offers together: each handled once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.bootstrap import build
from bot.store.db import is_sqlite
from bot.store.tables import lead_events, offers
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, apply, config, lead, partner
from tests.fakes import RecordingMessenger

N = 500


async def test_two_instances_expire_each_offer_exactly_once(services, clock):
    await apply(services, config([partner("acme"), partner("beta")], max_rounds=2))
    for i in range(N):
        await services.submit_lead(lead(f"x-{i}"), actor=SYSTEM, source=SRC)
    await deliver_all(services, rounds=100)
    clock.advance(timedelta(minutes=31))
    other = build(services.settings, messengers={"slack": RecordingMessenger("slack")}, clock=clock)
    try:
        first, second = await asyncio.gather(services.scheduler.sweep(), other.scheduler.sweep())
    finally:
        await other.close()
    assert first.expired + second.expired == N
    if not is_sqlite(services.settings.database_url):  # SKIP LOCKED: both share the work
        assert first.expired > 0 and second.expired > 0
    async with services.uow() as uow:
        events = (await uow.execute(select(lead_events.c.lead_id, lead_events.c.kind))).all()
        rows = (await uow.execute(select(offers.c.lead_id, offers.c.status))).all()
    expired = Counter(lead_id for lead_id, kind in events if kind == "expired")
    offered = Counter(lead_id for lead_id, kind in events if kind == "offered")
    assert len(expired) == N and set(expired.values()) == {1}  # each offer expired once
    assert set(offered.values()) == {2}  # each lead moved on exactly once
    statuses = Counter(status for _lead, status in rows)
    assert statuses == {"expired": N, "pending": N}
