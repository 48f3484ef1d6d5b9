"""What the benchmarks share: a database made fresh, a configuration applied, an API key."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from bot.bootstrap import Services
from bot.policy_file import validate_document
from bot.store.migrate import migrate
from bot.store.tables import metadata


async def fresh_database(services: Services) -> None:
    """Migrate, and on PostgreSQL empty every table: each run starts from nothing (a SQLite
    benchmark database is a new file anyway)."""
    await migrate(services.engine)
    if services.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in metadata.sorted_tables)
        async with services.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def configure(services: Services, document: dict[str, Any], *, key: bool = False) -> str:
    """Apply `document` as the policy; with `key`, also create an API key and return it."""
    async with services.uow() as uow:
        now = services.ctx.now()
        await uow.config.apply(validate_document(document), document, source_file="bench", now=now)
        made = await uow.apikeys.create(f"bench-{time.time()}", now=now) if key else ""
        await uow.commit()
    return made
