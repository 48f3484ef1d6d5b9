"""API keys: only a SHA-256 hash is stored; the key itself is shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.errors import InvalidInput
from bot.store.tables import api_keys

PREFIX = 10  # characters of a key stored in clear to find it by ("lb_" and 7 random ones)


def hash_key(key: str) -> str:
    """SHA-256: keys are 256 random bits, so a fast hash is enough (no password stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def create(self, name: str, *, now: datetime) -> str:
        """Create a key named `name`; returns the key (never stored)."""
        exists = (
            await self.conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.name == name))
        ).first()
        if exists and exists.revoked_at is not None:
            # a name stays with its key (leads sent with an Idempotency-Key are filed under it)
            raise InvalidInput(
                f"the API key named '{name}' was revoked, and names are not reused: pick a new"
                f" name (like {name}-2)"
            )
        if exists:
            raise InvalidInput(
                f"an API key named '{name}' already exists; revoke it or pick a new name"
            )
        key = "lb_" + secrets.token_urlsafe(32)
        await self.conn.execute(
            api_keys.insert().values(
                name=name, prefix=key[:PREFIX], hash=hash_key(key), created_at=now
            )
        )
        return key

    async def revoke(self, name: str, *, now: datetime) -> bool:
        stmt = (
            update(api_keys)
            .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(api_keys.c.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def verify(self, key: str) -> str | None:
        """The name of the live key matching `key`, or None.

        Found by its public prefix, then the hashes compared in constant time, so that how long
        an answer takes says nothing about how close a guess came."""
        stmt = select(api_keys.c.name, api_keys.c.hash).where(
            api_keys.c.prefix == key[:PREFIX], api_keys.c.revoked_at.is_(None)
        )
        given = hash_key(key)
        found = None
        for row in await self.conn.execute(stmt):
            if hmac.compare_digest(row.hash, given):
                found = row.name
        return found
