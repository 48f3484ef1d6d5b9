"""The SQLite driver: what SQLAlchemy reads back is what plain aiosqlite gives; statements run on
the event loop, except what may wait for a lock or run long, which goes to the connection's
thread in one trip instead of four; checkpoints run in the background, waited for by nobody."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    exc,
    func,
    insert,
    select,
    text,
    update,
)

from bot.store.db import LONG, READ_ONLY, create_engine, write_lock
from bot.store.sqlite_checkpoints import checkpoint_soon, settle
from bot.store.sqlite_driver import CHECKPOINT_EVERY, OneTripConnection

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


@pytest.fixture
def trips(monkeypatch):
    """The statements (and commits) that went to the connection's thread."""
    sent: list[str] = []
    run = OneTripConnection._execute

    async def counted(self, fn, *args, **kwargs):
        sent.append(getattr(fn, "__name__", "?"))
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    return sent


SLOW_COUNT = "SELECT (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) SELECT count(*) FROM c)"  # noqa: E501


async def test_an_uncontended_writing_transaction_never_goes_to_the_thread(engine, trips):
    async with engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock was free
        for i in range(10):
            await conn.execute(insert(things).values(name=f"n{i}"))
            (await conn.execute(select(things).where(things.c.id == i))).all()
        await conn.execute(update(things).where(things.c.id < 3).values(name=things.c.name + "!"))
    # 21 statements and the COMMIT on the event loop (plain aiosqlite: 86 trips)
    assert trips == []
    async with engine.connect() as conn:
        assert len((await conn.execute(select(things))).all()) == 10
        # the busy timeout, lifted for the BEGIN, is back
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30000


def wal_frames(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // (4096 + 24) if wal.exists() else 0


async def test_the_wal_is_checkpointed_in_the_background_every_so_many_commits(
    engine, trips, tmp_path: Path, monkeypatch
):
    """No COMMIT checkpoints, nor waits for one: every CHECKPOINT_EVERY-th starts one on a
    thread and connection of its own, and the WAL's pages are then in the database file."""
    db = tmp_path / "one-trip.db"
    started: list[str] = []

    def counted(location, *, uri, lock):
        started.append(location)
        return checkpoint_soon(location, uri=uri, lock=lock)

    monkeypatch.setattr("bot.store.sqlite_driver.checkpoint_soon", counted)
    lock = write_lock(engine)
    for i in range(CHECKPOINT_EVERY * 2 + 5):
        await lock.acquire()  # as a unit of work that writes does
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(things).values(name=f"n{i}"))
        finally:
            lock.release()
    await settle()
    assert trips == []  # the committing connection never went to its thread
    assert started == [str(db), str(db)]
    reader = sqlite3.connect(db)
    try:  # what the last checkpoint copied is in the file itself, readable without the WAL
        frames = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert frames[1] < CHECKPOINT_EVERY  # at most the commits since (one frame or so each)
    finally:
        reader.close()
    assert wal_frames(db) <= CHECKPOINT_EVERY * 4  # the WAL is reused, not grown


async def test_a_checkpoint_waits_for_the_writer_and_never_makes_a_database(tmp_path: Path):
    """It runs once the write lock is free; one more for the same database meanwhile is
    skipped; a database deleted before it ran is not created again."""
    gone = tmp_path / "gone.db"
    lock = asyncio.Lock()
    await lock.acquire()  # a writer holds the lock
    assert checkpoint_soon(str(gone), lock=lock)
    assert not checkpoint_soon(str(gone), lock=lock)  # still waiting: skipped
    lock.release()
    await settle()
    assert not gone.exists()
    assert checkpoint_soon(str(gone), lock=lock)  # it ran (and failed quietly): the next may start
    await settle()


async def test_a_checkpoint_that_fails_in_any_way_is_logged_and_leaves_the_lock_free(
    tmp_path: Path, monkeypatch, caplog
):
    """Not only SQLite's own errors: whatever stops a checkpoint is a warning, the task ends
    without an exception left unread, and the writers' lock is free again."""

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("the directory went away")

    monkeypatch.setattr("bot.store.sqlite_checkpoints.sqlite3.connect", broken)
    lock = asyncio.Lock()
    with caplog.at_level(logging.WARNING, logger="bot.store.sqlite_checkpoints"):
        assert checkpoint_soon(str(tmp_path / "any.db"), lock=lock)
        await settle()
    assert "the directory went away" in caplog.text
    assert not lock.locked()
    assert checkpoint_soon(str(tmp_path / "any.db"), lock=lock)  # and the next may start
    await settle()


async def test_a_read_only_unit_of_work_never_goes_to_the_thread(engine, trips):
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="a"))
    trips.clear()
    async with engine.connect() as conn:
        await conn.execution_options(**{READ_ONLY: True})
        async with conn.begin():  # plain BEGIN: a snapshot, no lock
            for _ in range(5):
                assert (await conn.execute(select(things.c.name))).scalars().all() == ["a"]
    assert trips == []


async def test_a_read_over_its_budget_runs_again_on_the_thread_and_undoes_nothing(engine, trips):
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="kept"))
        trips.clear()
        n = 300_000  # some 50 ms of work: far over the 2 ms budget
        counted = await conn.execute(text(SLOW_COUNT).bindparams(n=n))
        assert counted.scalar_one() == n
        assert len(trips) == 1  # stopped on the loop, then run in full on the thread
        await conn.execute(insert(things).values(name="after"))  # the transaction goes on
    async with engine.connect() as conn:
        names = (await conn.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert names.all() == ["kept", "after"]


async def test_a_write_marked_long_goes_to_the_thread(engine, trips):
    async with engine.begin() as conn:
        trips.clear()
        await conn.execute(insert(things).values(name="a"))
        assert trips == []
        await conn.execute(
            update(things).values(name="b").execution_options(**{LONG: True})
        )  # fmt: skip
        assert len(trips) == 1
        await conn.execute(update(things).values(name="c"))
        assert len(trips) == 1  # the mark was that statement's only


async def test_an_unmarked_write_that_runs_long_is_logged_once(engine, caplog):
    fill = text(
        "INSERT INTO things (name) SELECT 'n' || x FROM "
        "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) "
        "SELECT x FROM c) WHERE x > :skip"
    )
    with caplog.at_level(logging.WARNING, logger="bot.store.sqlite_driver"):
        async with engine.begin() as conn:
            await conn.execute(fill.bindparams(n=200_000, skip=0))
            await conn.execute(fill.bindparams(n=400_000, skip=200_000))
    logged = [r.getMessage() for r in caplog.records if "mark it LONG" in r.getMessage()]
    assert len(logged) == 1 and "INSERT INTO things" in logged[0]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(things))).scalar() == 400_000


async def test_waiting_for_another_processs_writer_does_not_stop_the_event_loop(
    engine, tmp_path: Path
):
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="before"))
    other = sqlite3.connect(tmp_path / "one-trip.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    try:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(tick())

        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(things).values(name="queued"))

        writing = asyncio.create_task(write())
        async with asyncio.timeout(10):
            while ticks < 100:  # noqa: ASYNC110 -- the loop runs while the writer waits
                await asyncio.sleep(0)
        async with engine.connect() as conn:  # and a reader reads meanwhile
            await conn.execution_options(**{READ_ONLY: True})
            assert (await conn.execute(select(things.c.name))).scalars().all() == ["before"]
        assert not writing.done()
        other.execute("COMMIT")
        async with asyncio.timeout(10):
            await writing
        ticking.cancel()
    finally:
        other.close()
    async with engine.connect() as conn:
        names = (await conn.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert names.all() == ["before", "queued"]
