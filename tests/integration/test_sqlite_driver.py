"""The one-trip SQLite driver: what SQLAlchemy reads back is what plain aiosqlite gives, and a
statement costs one trip to the connection's thread instead of four."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, exc, insert, select, update

from bot.store.db import create_engine
from bot.store.sqlite_driver import OneTripConnection

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    yield engine
    await engine.dispose()


async def test_rows_counts_and_ids_come_back(engine):
    async with engine.begin() as conn:
        first = await conn.execute(insert(things).values(name="a"))
        assert first.inserted_primary_key == (1,)  # lastrowid
        await conn.execute(insert(things), [{"name": "b"}, {"name": "c"}])  # executemany
        returned = await conn.execute(insert(things).values(name="d").returning(things.c.id))
        assert returned.scalar_one() == 4
        changed = await conn.execute(
            update(things).where(things.c.id > 2).values(name=things.c.name + "!")
        )
        assert changed.rowcount == 2
        rows = (await conn.execute(select(things.c.name).order_by(things.c.id))).all()
        assert [r.name for r in rows] == ["a", "b", "c!", "d!"]
        assert (await conn.execute(select(things).where(things.c.id == 99))).first() is None
        partial = await conn.execute(select(things.c.id).order_by(things.c.id))
        assert partial.fetchmany(3) == [(1,), (2,), (3,)] and partial.fetchall() == [(4,)]


async def test_errors_are_sqlalchemys_and_roll_back(engine):
    with pytest.raises(exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="same"))
            await conn.execute(insert(things).values(name="same"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(things))).all() == []


async def test_one_trip_per_statement(engine, monkeypatch):
    trips = 0
    run = OneTripConnection._execute

    async def counted(self, fn, *args, **kwargs):
        nonlocal trips
        trips += 1
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    async with engine.connect() as conn:
        await conn.execute(select(things))  # begins the transaction (BEGIN IMMEDIATE: a trip)
        before = trips
        for i in range(10):
            (await conn.execute(select(things).where(things.c.id == i))).all()
        assert trips - before == 10  # plain aiosqlite: 40
