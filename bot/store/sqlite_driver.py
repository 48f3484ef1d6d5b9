"""aiosqlite, with most statements run right on the event loop.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy makes four calls a
statement (open a cursor, execute, fetch the rows, close the cursor): four hand-overs between
threads, each waking the event loop. A hand-over costs more than the statement: 0.07 ms at the
median and near 1 ms at p99 against 0.02 ms for a typical Leadbot statement, and most of the
process's CPU for a lead. So here:

- On a database in WAL mode (or in memory), a statement that cannot wait for a lock runs on
  the event loop: in WAL, readers never wait, and every writing transaction begins with
  `BEGIN IMMEDIATE`, which holds the write lock from then on. A read gets a budget
  (`READ_BUDGET`): SQLite's progress handler stops it when it runs over, which undoes nothing,
  and it runs again on the thread. A write cannot be stopped without rolling back its whole
  transaction, so a statement that may run long (a rebuild, a purge, a bulk insert) is marked
  with the `LONG` execution option and goes to the thread; one that was not marked and ran
  long is logged (`WRITE_WARNING`), once per statement.
- `BEGIN IMMEDIATE` is tried on the event loop without a busy timeout: if another process's
  writer holds the lock, it is waited for on the thread instead, with the timeout. A writing
  COMMIT appends the transaction's pages to the WAL (no fsync with `synchronous=NORMAL`) and
  runs on the event loop too: SQLite's automatic checkpoint, which would copy the WAL into the
  database and sync it right there, is off, and every `CHECKPOINT_EVERY` writing commits one
  runs in the background instead, on a connection and thread of its own, waited for by nobody
  (`bot/store/sqlite_checkpoints.py`). A statement that goes to the thread is one trip, in
  which the cursor does all four calls, handing back the rows with the cursor's description,
  row count and last row id. The rows are read in full, which SQLAlchemy does anyway (Leadbot
  never streams results).

It plugs in as the DBAPI module SQLAlchemy's own aiosqlite dialect drives (the engine's
`module` argument), so the URL stays `sqlite+aiosqlite:///...`. It relies on two internals of
aiosqlite, `Connection._execute` (run a function on the connection's thread) and
`Connection._conn` (the sqlite3 connection, used by one side at a time: the event loop awaits
the thread); the whole test suite runs on it. An uncontended writing transaction makes no trip
at all.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

from bot.store.sqlite_checkpoints import Lock, checkpoint_soon

log = logging.getLogger(__name__)

Outcome = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows
Work = Callable[[sqlite3.Cursor], object]

READ_BUDGET = 0.002  # s a read may run on the event loop before it goes to the thread
WRITE_WARNING = 0.05  # s an unmarked write may run on the event loop before it is logged
BULK = 100  # rows of an executemany beyond which it goes to the thread
# writing commits between two checkpoints: a lead's two or three write some 30 pages in all
# (measured), so the WAL holds about what SQLite's own default lets it (1,000 pages)
CHECKPOINT_EVERY = 64
_STEPS = 1000  # SQLite VM instructions between two looks at the clock
_READS = frozenset({"SELECT"})
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})


class OneTripCursor:
    """What SQLAlchemy uses of an aiosqlite cursor; a statement is at most one trip."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _take(self, outcome: Outcome) -> OneTripCursor:
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> OneTripCursor:
        work: Work = lambda cursor: cursor.execute(sql, parameters or ())  # noqa: E731
        return self._take(await self._connection.run(sql, work))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        rows = list(parameters)
        work: Work = lambda cursor: cursor.executemany(sql, rows)  # noqa: E731
        return self._take(await self._connection.run(sql, work, bulk=len(rows) > BULK))

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = self.arraysize if size is None else size
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        self._rows = []


def _verb(sql: str) -> str:
    return sql.lstrip()[:8].split(None, 1)[0].upper() if sql.strip() else ""


class OneTripConnection(aiosqlite.Connection):
    inline = False  # statements may run on the event loop (WAL or memory; set once connected)
    long = False  # the statement about to run was marked LONG (set by the engine)
    location = ""  # the database file
    uri = False  # `location` is a URI
    wal = False  # the database is in WAL mode (set once connected)
    write_lock: Lock | None = None  # the engine's in-process writer queue (set once connected)
    _writing = False  # the transaction under way holds the write lock
    _busy_ms: int | None = None  # the busy timeout, restored after a BEGIN tried without it
    _commits: dict[str, int] = {}  # noqa: RUF012 -- shared: writing commits since a checkpoint
    _warned: set[str] = set()  # noqa: RUF012 -- shared: each slow statement is logged once

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def run(self, sql: str, work: Work, *, bulk: bool = False) -> Outcome:
        """Run one statement: on the event loop where it cannot wait, else one trip."""
        verb, outcome = _verb(sql), None
        if verb == "BEGIN":
            mode = sql.upper()
            self._writing = "IMMEDIATE" in mode or "EXCLUSIVE" in mode
            if self.inline:
                outcome = self._begin_here(work) if self._writing else self._here(work, None)
        elif self.inline and not self.long and not bulk:
            if verb in _READS:  # None if it ran over its budget: undone, run on the thread
                outcome = self._here(work, READ_BUDGET)
            elif verb in _WRITES and self._writing:
                outcome = self._here(work, None, sql=sql)
        if outcome is None:
            outcome = await self._execute(self._trip, work)
        return outcome

    def _trip(self, work: Work) -> Outcome:
        cursor = self._conn.cursor()
        try:
            work(cursor)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    def _begin_here(self, work: Work) -> Outcome | None:
        """Take the write lock on the event loop if it is free; None if another process's
        writer holds it: then it is waited for on the thread, with the busy timeout."""
        conn = self._conn
        if self._busy_ms is None:
            self._busy_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout=0")
        try:
            return self._trip(work)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                return None
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")

    def _here(self, work: Work, budget: float | None, *, sql: str = "") -> Outcome | None:
        """Run on the event loop. With a budget, None if the statement ran over it (stopped
        by the progress handler; a read, so nothing is undone). Without, a write that runs
        past `WRITE_WARNING` is logged."""
        started = time.perf_counter()
        until = started + (budget if budget is not None else WRITE_WARNING)
        over = False

        def progress() -> int:
            nonlocal over
            if not over and time.perf_counter() > until:
                over = True
                return 1 if budget is not None else 0
            return 0

        conn = self._conn
        conn.set_progress_handler(progress, _STEPS)
        try:
            return self._trip(work)
        except sqlite3.OperationalError:
            if budget is not None and over:
                return None  # interrupted: run it again on the thread
            raise
        finally:
            conn.set_progress_handler(None, 0)
            if over and budget is None and sql not in self._warned:
                self._warned.add(sql)
                log.warning(
                    "a write ran %.0f ms on the event loop; mark it LONG: %.120s",
                    (time.perf_counter() - started) * 1000,
                    " ".join(sql.split()),
                )

    async def commit(self) -> None:
        if not self.inline:
            await super().commit()
        else:
            # a read has nothing to write; a write appends its pages to the WAL, without an
            # fsync (synchronous=NORMAL) and without a checkpoint (automatic ones are off)
            self._conn.commit()
            if self._writing and self.wal and self._checkpoint_due():
                # not awaited: it runs once this writer has let go of the write lock
                checkpoint_soon(self.location, uri=self.uri, lock=self.write_lock)
        self._writing = False

    def _checkpoint_due(self) -> bool:
        """Every `CHECKPOINT_EVERY` writing commits to this database (by any connection)."""
        done = self._commits.get(self.location, 0) + 1
        self._commits[self.location] = done % CHECKPOINT_EVERY
        return done >= CHECKPOINT_EVERY

    async def rollback(self) -> None:
        if self.inline:
            self._conn.rollback()  # in WAL, dropping a transaction's pages waits for nothing
        else:
            await super().rollback()
        self._writing = False


class _Aiosqlite:
    """The aiosqlite module as SQLAlchemy's dialect sees it, with one-trip connections."""

    Connection = OneTripConnection

    def __getattr__(self, name: str) -> Any:
        return getattr(aiosqlite, name)

    @staticmethod
    def connect(database: Any, *, iter_chunk_size: int = 64, **kwargs: Any) -> OneTripConnection:
        location = database.decode() if isinstance(database, bytes) else str(database)
        # created on the connection's thread, then used by the event loop too (never both at
        # once: the loop awaits every trip)
        kwargs["check_same_thread"] = False
        conn = OneTripConnection(lambda: sqlite3.connect(location, **kwargs), iter_chunk_size)
        conn.location, conn.uri = location, bool(kwargs.get("uri"))
        return conn


def one_trip_dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module for `create_async_engine(..., module=...)` on SQLite."""
    return AsyncAdapt_aiosqlite_dbapi(_Aiosqlite(), sqlite3)  # type: ignore[arg-type]


def allow_inline(driver: Any, journal_mode: str, write_lock: Lock | None = None) -> None:
    """Once connected: statements may run on the event loop if no reader ever waits. In WAL
    mode the connection then never checkpoints by itself on COMMIT (which would write and
    sync on the event loop): every `CHECKPOINT_EVERY` commits one runs in the background,
    under `write_lock`."""
    if isinstance(driver, OneTripConnection):
        driver.write_lock = write_lock
        driver.inline = journal_mode.lower() in ("wal", "memory")
        driver.wal = journal_mode.lower() == "wal"
        if driver.wal:
            driver._conn.execute("PRAGMA wal_autocheckpoint=0")


def mark_long(driver: Any, long: bool) -> None:
    """Before each statement: whether it was marked LONG (it then runs on the thread)."""
    if isinstance(driver, OneTripConnection):
        driver.long = long
