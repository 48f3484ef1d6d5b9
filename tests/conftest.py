"""Database fixtures: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

A run asked for PostgreSQL that cannot reach it fails; it never falls back or skips.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from bot.bootstrap import Services, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.messaging import NO_PACE
from bot.store.db import create_engine, is_sqlite
from bot.store.migrate import alembic_config, migrate
from bot.store.tables import metadata
from tests.fakes import RecordingMessenger

PG_URL = os.environ.get("TEST_DATABASE_URL")


async def _prepare_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await migrate(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a template SQLite file, or the PostgreSQL test database."""
    if PG_URL:
        if is_sqlite(PG_URL):
            raise pytest.UsageError("TEST_DATABASE_URL must point at PostgreSQL")
        try:
            asyncio.run(_prepare_postgres(PG_URL))
        except Exception as exc:  # fail loudly: asked for PostgreSQL, cannot have it
            pytest.exit(f"TEST_DATABASE_URL={PG_URL} is unreachable: {exc!r}", returncode=3)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def make() -> None:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(make())
    return str(path)


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
def database_url(template_db: str, tmp_path: Path) -> str:
    """A fresh, migrated, empty database for one test."""
    if PG_URL:
        asyncio.run(_truncate(PG_URL))
        return PG_URL
    path = tmp_path / "leadbot.db"
    shutil.copy(template_db, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def slack() -> RecordingMessenger:
    return RecordingMessenger("slack")


@pytest.fixture
def telegram() -> RecordingMessenger:
    return RecordingMessenger("telegram")


@pytest.fixture
async def services(
    database_url: str, clock: FakeClock, slack: RecordingMessenger, telegram: RecordingMessenger
) -> AsyncIterator[Services]:
    """Real store and engine, fake clock, recording messengers; nothing started."""
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    svc = build(settings, messengers={"slack": slack, "telegram": telegram}, clock=clock)
    yield svc
    await svc.close()


async def deliver_all(services: Services, *, rounds: int = 50) -> None:
    """Run the outbox sender until nothing is due (bounded)."""
    for _ in range(rounds):
        if await services.sender.drain_once() == 0:
            return
    raise AssertionError("the outbox did not drain")


async def upgrade_from(database_url: str, revision: str) -> None:
    """Run the migrations after `revision` again, as an upgrade from it would (the data there
    stands for what an older Leadbot left)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn, conn.begin():
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
        await migrate(engine)
    finally:
        await engine.dispose()


def unpaced(services: Services) -> Services:
    """No pacing for the real Slack and Telegram messengers: these tests run on a fake clock,
    where a paced chat would make them sleep real seconds. Pacing has its own tests."""
    for messenger in services.messengers.values():
        messenger.pace = NO_PACE
    return services
