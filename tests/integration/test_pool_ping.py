"""PostgreSQL's pooled connections are pinged only after sitting idle: a connection back for
less than PING_IDLE seconds is handed out as it is; one idle for longer is pinged, and if its
server side is gone it is replaced before anyone uses it. A connection that died while it was
idle for less than that fails its first statement as the database being away (the caller's
503), and the next unit of work gets a working connection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from bot.store import db
from bot.store.db import create_engine, is_sqlite
from bot.store.outage import database_unavailable
from bot.store.uow import UnitOfWork


class Clock:
    """Stands in for time.monotonic inside bot.store.db."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pool(database_url, monkeypatch):
    if is_sqlite(database_url):
        pytest.skip("SQLite has no server to lose; PostgreSQL only")
    clock = Clock()
    monkeypatch.setattr(db, "monotonic", clock)
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    yield SimpleNamespace(engine=engine, clock=clock, pings=pings)
    await engine.dispose()


async def backend_pid(pool) -> int:
    async with UnitOfWork(pool.engine) as uow:
        return int((await uow.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(database_url: str, pid: int) -> None:
    other = create_engine(database_url)
    try:
        async with other.connect() as conn:
            await conn.execute(select(text("pg_terminate_backend(:pid)")), {"pid": pid})
    finally:
        await other.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(pool):
    first = await backend_pid(pool)
    pool.clock.now += db.PING_IDLE / 2
    assert await backend_pid(pool) == first
    assert pool.pings == []


async def test_an_idle_connection_is_pinged_and_a_dead_one_replaced_unseen(pool, database_url):
    first = await backend_pid(pool)
    pool.clock.now += db.PING_IDLE + 1
    assert await backend_pid(pool) == first
    assert len(pool.pings) == 1

    await terminate(database_url, first)
    pool.clock.now += db.PING_IDLE + 1
    replaced = await backend_pid(pool)  # no error: the ping found it dead
    assert replaced != first and len(pool.pings) == 2


async def test_a_connection_that_died_unpinged_fails_as_away_and_the_next_works(pool, database_url):
    first = await backend_pid(pool)
    await terminate(database_url, first)
    with pytest.raises(Exception) as failed:
        await backend_pid(pool)
    assert database_unavailable(failed.value)
    assert await backend_pid(pool) != first
    assert pool.pings == []
