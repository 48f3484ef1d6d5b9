"""A unit of work that only reads does not queue behind a writer, and sees committed rows only."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.store.db import is_sqlite
from bot.store.tables import leads
from tests.factories import apply, config, lead, partner

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _count(services) -> int:
    async with services.uow(read_only=True) as uow:
        return (await uow.execute(select(func.count()).select_from(leads))).scalar_one()


async def test_a_reader_is_not_held_up_by_an_open_write(services):
    await apply(services, config([partner("acme")]))
    async with services.uow() as writer:  # holds SQLite's write lock (a row lock on PostgreSQL)
        await writer.leads.insert(lead("ro-1"), public_id="LREADON1", now=NOW)
        # bounded: a reader that queued behind the writer would never finish here
        assert await asyncio.wait_for(_count(services), timeout=10) == 0
        await writer.commit()
    assert await _count(services) == 1


async def test_a_writer_still_queues_behind_a_writer(services):
    """The read-only path must not have loosened the writers' queue (SQLite's, in process)."""
    if not is_sqlite(services.settings.database_url):
        pytest.skip("PostgreSQL writers queue on row locks, not on a process-wide lock")
    await apply(services, config([partner("acme")]))
    order: list[str] = []
    async with services.uow() as first:
        await first.leads.insert(lead("ro-2"), public_id="LREADON2", now=NOW)

        async def second() -> None:
            async with services.uow() as uow:
                order.append("second in")
                await uow.commit()

        task = asyncio.create_task(second())
        await asyncio.sleep(0)
        order.append("first commits")
        await first.commit()
    await asyncio.wait_for(task, timeout=10)
    assert order == ["first commits", "second in"]
