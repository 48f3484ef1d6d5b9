"""API keys: stored as a hash only, found by their public prefix, compared in constant time."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.apikeys import PREFIX, hash_key
from bot.store.tables import api_keys


async def test_a_key_is_stored_hashed_and_only_the_whole_key_opens(services):
    now = services.ctx.now()
    async with services.uow() as uow:
        key = await uow.apikeys.create("website", now=now)
        # another key that happens to share the prefix: both are compared, the right one wins
        await uow.execute(
            api_keys.insert().values(
                name="twin", prefix=key[:PREFIX], hash=hash_key(key + "!"), created_at=now
            )
        )
        await uow.commit()
    async with services.uow() as uow:
        (stored,) = (await uow.execute(select(api_keys).where(api_keys.c.name == "website"))).all()
        assert key not in repr(stored) and stored.hash == hash_key(key)
        assert await uow.apikeys.verify(key) == "website"
        assert await uow.apikeys.verify(key + "!") == "twin"
        assert await uow.apikeys.verify(key[:PREFIX] + "x" * (len(key) - PREFIX)) is None
        assert await uow.apikeys.verify(key[:-1]) is None
        assert await uow.apikeys.verify("") is None
        assert await uow.apikeys.revoke("website", now=now)
        assert await uow.apikeys.verify(key) is None
