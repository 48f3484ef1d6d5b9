"""CRM webhook endpoints that are down: recorded once, by whichever instance sees it first."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import webhook_outages

_UP = (
    delete(webhook_outages)
    .where(webhook_outages.c.url_key == bindparam("url_key"))
    .returning(webhook_outages.c.since)
)
_COUNT = select(func.count()).select_from(webhook_outages)


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


@cache
def _down(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(webhook_outages).on_conflict_do_nothing().returning(webhook_outages.c.url_key)


class WebhookOutageRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def mark_down(self, url: str, *, error: str, now: datetime) -> bool:
        """Record `url` as down; True only for the call that recorded it (it tells the
        managers): two instances finding it down at once record it once."""
        values = {"url_key": _key(url), "url": url, "since": now, "error": error[:500]}
        stmt = _down(self.conn.dialect.name)
        return (await self.conn.execute(stmt, values)).first() is not None

    async def mark_up(self, url: str) -> datetime | None:
        """`url` answered: when its recorded outage began (it is over now), if there was one."""
        since: datetime | None = (await self.conn.execute(_UP, {"url_key": _key(url)})).scalar()
        return since

    async def count(self) -> int:
        """How many endpoints are down now."""
        return int((await self.conn.execute(_COUNT)).scalar_one())
