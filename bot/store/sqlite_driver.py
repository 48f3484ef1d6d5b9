"""aiosqlite, one trip to the connection's thread per statement.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy makes four calls a
statement (open a cursor, execute, fetch the rows, close the cursor): four hand-overs between
threads, each waking the event loop. Here the cursor does all four in one, and hands back
the rows with the cursor's description, row count and last row id. The rows are read in
full, which SQLAlchemy does anyway (Leadbot never streams results).

It plugs in as the DBAPI module SQLAlchemy's own aiosqlite dialect drives (the engine's
`module` argument), so the URL stays `sqlite+aiosqlite:///...`. It relies on two internals of
aiosqlite, `Connection._execute` (run a function on the connection's thread) and
`Connection._conn` (the sqlite3 connection, used only on that thread); the whole test suite
runs on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

Outcome = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows


class OneTripCursor:
    """What SQLAlchemy uses of an aiosqlite cursor; each statement is one trip."""

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

    async def _run(self, work: Callable[[sqlite3.Cursor], object]) -> OneTripCursor:
        conn = self._connection

        def trip() -> Outcome:  # on the connection's thread
            cursor = conn._conn.cursor()
            try:
                work(cursor)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        outcome: Outcome = await conn._execute(trip)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> OneTripCursor:
        return await self._run(lambda cursor: cursor.execute(sql, parameters or ()))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        return await self._run(lambda cursor: cursor.executemany(sql, parameters))

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


class OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


class _Aiosqlite:
    """The aiosqlite module as SQLAlchemy's dialect sees it, with one-trip connections."""

    Connection = OneTripConnection

    def __getattr__(self, name: str) -> Any:
        return getattr(aiosqlite, name)

    @staticmethod
    def connect(database: Any, *, iter_chunk_size: int = 64, **kwargs: Any) -> OneTripConnection:
        location = database.decode() if isinstance(database, bytes) else str(database)
        return OneTripConnection(lambda: sqlite3.connect(location, **kwargs), iter_chunk_size)


def one_trip_dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module for `create_async_engine(..., module=...)` on SQLite."""
    return AsyncAdapt_aiosqlite_dbapi(_Aiosqlite(), sqlite3)  # type: ignore[arg-type]
