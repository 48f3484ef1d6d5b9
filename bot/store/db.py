"""Engine creation: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE; PostgreSQL as is."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from time import monotonic
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.sqlite_checkpoints import settle
from bot.store.sqlite_driver import allow_inline, mark_long, one_trip_dbapi

READ_ONLY = "leadbot_read_only"  # execution option of a unit of work that only reads
# execution option of a statement that may run long (a rebuild, a purge): on SQLite it runs on
# the connection's thread, not on the event loop (see sqlite_driver)
LONG = "leadbot_long"
# a pooled PostgreSQL connection back in the pool for longer than this is pinged before it is
# handed out again (see ping_when_idle)
PING_IDLE = 2.0  # seconds
_IDLE_SINCE = "leadbot_idle_since"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for `url` with the settings Leadbot relies on."""
    # a database error's text would otherwise carry the statement's values (a lead's contact)
    # into whatever logs it
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        # at most 20 connections an instance: several instances must fit PostgreSQL's
        # max_connections (100 by default); an asyncio process gains nothing from more
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        engine = create_async_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            ping_when_idle(engine)
        return engine
    if sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: Leadbot needs 3.35 or newer (RETURNING)"
        )
    kwargs.setdefault("connect_args", {"timeout": 30})
    kwargs.setdefault("module", one_trip_dbapi())  # most statements on the event loop
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # we emit BEGIN ourselves (below); pysqlite's legacy control would skip it for SELECTs
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        allow_inline(record.driver_connection, cursor.fetchone()[0], write_lock(engine))
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never
        # fail with SQLITE_BUSY halfway, so compare-and-set updates simply queue up. A unit of
        # work that only reads begins a plain (deferred) transaction: a snapshot, no lock.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _on_statement(conn: Any, _c: Any, _s: Any, _p: Any, context: Any, _many: bool) -> None:
        options = context.execution_options if context is not None else {}
        mark_long(conn.connection.driver_connection, options.get(LONG, False))

    _WRITE_LOCKS[engine.sync_engine] = WriteLock()
    return engine


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections, once the SQLite checkpoints under way have finished."""
    await settle()
    await engine.dispose()


def ping_when_idle(engine: AsyncEngine) -> None:
    """`pool_pre_ping`, only for connections that sat in the pool over PING_IDLE seconds.

    The asyncpg dialect's ping is three round trips (BEGIN, an empty query, ROLLBACK): 0.55 ms
    here, paid by every unit of work, several a lead. A connection that was working less than
    PING_IDLE seconds ago is handed out as it is; should the server have gone away since, its
    first statement fails as a disconnect, that one request is told the database is away (503,
    as during the outage itself), and the pool replaces every connection older than the error.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _back(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if monotonic() - record.info.get(_IDLE_SINCE, float("-inf")) <= PING_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError(f"the pooled connection did not answer: {exc!r}") from exc


class WriteLock:
    """SQLite allows one writer: queue this process's transactions here, first come first served,
    instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError("a unit of work was opened inside another one in the same task")
        await self._lock.acquire()
        self._owner = task

    def release(self) -> None:
        self._owner = None
        self._lock.release()


_WRITE_LOCKS: weakref.WeakKeyDictionary[Any, WriteLock] = weakref.WeakKeyDictionary()


def write_lock(engine: AsyncEngine) -> WriteLock | None:
    """The in-process writer queue of a SQLite engine (None on PostgreSQL: rows lock there)."""
    return _WRITE_LOCKS.get(engine.sync_engine)
