"""Engine creation: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE; PostgreSQL as is."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for `url` with the settings Leadbot relies on."""
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 40)
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    if sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: Leadbot needs 3.35 or newer (RETURNING)"
        )
    kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # we emit BEGIN ourselves (below); pysqlite's legacy control would skip it for SELECTs
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never
        # fail with SQLITE_BUSY halfway, so compare-and-set updates simply queue up.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
