"""Telling "the database is away for now" (down, restarting, connection lost, pool exhausted)
from a bug or a refused statement, so callers can answer 503 and retry instead of crashing."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa

# SQLSTATE classes: 08 connection exception, 53 insufficient resources (too many connections),
# 57P operator intervention (admin/crash shutdown, cannot connect now: a restart)
AWAY_STATES = ("08", "53", "57P")
SQLITE_AWAY = ("locked", "busy", "unable to open", "disk i/o")


class DatabaseUnavailable(Exception):
    """Raised where a caller should answer "try again shortly" instead of failing."""


def database_unavailable(error: BaseException) -> bool:
    """True when `error` (or what caused it) means the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _away(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _away(error: BaseException) -> bool:
    if isinstance(error, DatabaseUnavailable | OSError | TimeoutError | sa.TimeoutError):
        return True  # refused or reset connections; connect or pool timeouts
    if isinstance(error, sa.DBAPIError):
        if error.connection_invalidated or isinstance(error, sa.InterfaceError):
            return True
        if isinstance(error, sa.OperationalError):  # SQLite says "no such table" this way too
            text = str(error.orig).lower()
            return not isinstance(error.orig, sqlite3.Error) or any(w in text for w in SQLITE_AWAY)
        state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return isinstance(state, str) and state.startswith(AWAY_STATES)
    state = getattr(error, "sqlstate", None)  # asyncpg's own errors, before SQLAlchemy wraps them
    return isinstance(state, str) and state.startswith(AWAY_STATES)
