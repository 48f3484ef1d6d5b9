"""Migrations and tables agree: a model change without a migration fails here."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store.db import create_engine
from bot.store.migrate import current_revision, head_revision
from bot.store.tables import metadata


async def test_migrated_schema_matches_the_tables(database_url):
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
