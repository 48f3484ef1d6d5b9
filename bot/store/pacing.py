"""Message pacing slots, reserved atomically so several instances share one chat's limit."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from bot.store.tables import send_pacing


@dataclass(frozen=True)
class Slot:
    """`at`: when this message may go (seconds since the epoch), or None when the chat's next
    free moment, `free_at`, is further away than the caller would wait."""

    at: float | None
    free_at: float


class PacingRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def reserve(self, key: str, *, interval: float, now: float, horizon: float) -> Slot:
        """Take the chat's next free moment if it is at most `horizon` seconds away: the chat
        is then free again `interval` seconds after it. One statement (an upsert): two
        instances asking at once get two different slots."""
        stmt = _reserve(self.conn.dialect.name)
        values = {"key": key, "now": now, "interval": interval, "limit": now + horizon}
        taken = (await self.conn.execute(stmt, values)).scalar()
        if taken is not None:
            return Slot(taken - interval, taken)
        return Slot(None, float((await self.conn.execute(_FREE, {"key": key})).scalar_one()))

    async def hold(self, key: str, *, until: float) -> None:
        """Nothing goes to the chat before `until` (a platform's rate-limit answer)."""
        dialect = self.conn.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        upsert = insert(send_pacing).values(key=key, next_at=until)
        await self.conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[send_pacing.c.key],
                set_={"next_at": _later(dialect, send_pacing.c.next_at, until)},
            )
        )


_FREE = select(send_pacing.c.next_at).where(send_pacing.c.key == bindparam("key"))


@cache
def _reserve(dialect: str) -> ReturningInsert[Any]:
    """The slot upsert, built once a dialect (every card takes one)."""
    seconds = send_pacing.c.next_at.type
    now, interval = bindparam("now", type_=seconds), bindparam("interval", type_=seconds)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(send_pacing).values(key=bindparam("key"), next_at=now + interval)
    return upsert.on_conflict_do_update(
        index_elements=[send_pacing.c.key],
        set_={"next_at": _later(dialect, send_pacing.c.next_at, now) + interval},
        where=send_pacing.c.next_at <= bindparam("limit", type_=seconds),
    ).returning(send_pacing.c.next_at)


def _later(
    dialect: str, column: ColumnElement[float], now: float | ColumnElement[float]
) -> ColumnElement[float]:
    if dialect == "postgresql":
        return func.greatest(column, now)
    return func.max(column, now)  # SQLite's max() of two values
