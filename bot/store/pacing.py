"""Message pacing slots, reserved atomically so several instances share one chat's limit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

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
        dialect = self.conn.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        upsert = insert(send_pacing).values(key=key, next_at=now + interval)
        stmt = upsert.on_conflict_do_update(
            index_elements=[send_pacing.c.key],
            set_={"next_at": _later(dialect, send_pacing.c.next_at, now) + interval},
            where=send_pacing.c.next_at <= now + horizon,
        ).returning(send_pacing.c.next_at)
        taken = (await self.conn.execute(stmt)).scalar()
        if taken is not None:
            return Slot(taken - interval, taken)
        free = select(send_pacing.c.next_at).where(send_pacing.c.key == key)
        return Slot(None, float((await self.conn.execute(free)).scalar_one()))

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


def _later(dialect: str, column: ColumnElement[float], now: float) -> ColumnElement[float]:
    if dialect == "postgresql":
        return func.greatest(column, now)
    return func.max(column, now)  # SQLite's max() of two values
