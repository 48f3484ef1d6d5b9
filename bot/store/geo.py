"""Postcode centroids loaded from GeoNames files."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.routing.geo import Centroid
from bot.store.db import LONG
from bot.store.tables import postcode_centroids


class GeoRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def locate(self, country: str, postcode: str) -> tuple[float, float] | None:
        stmt = select(postcode_centroids.c.lat, postcode_centroids.c.lon).where(
            postcode_centroids.c.country == country, postcode_centroids.c.postcode == postcode
        )
        row = (await self.conn.execute(stmt)).first()
        return (row.lat, row.lon) if row else None

    async def replace(self, rows: Iterable[Centroid], *, batch: int = 5000) -> dict[str, int]:
        """Replace the centroids of every country in `rows`; returns how many per country.

        GeoNames lists some postcodes once per place; the first place is kept.
        """
        cleared: set[str] = set()
        seen: set[tuple[str, str]] = set()
        counts: dict[str, int] = {}
        pending: list[dict[str, object]] = []
        for c in rows:
            if c.country not in cleared:
                country = postcode_centroids.c.country == c.country
                await self.conn.execute(
                    delete(postcode_centroids).where(country).execution_options(**{LONG: True})
                )
                cleared.add(c.country)
            if (c.country, c.postcode) in seen:
                continue
            seen.add((c.country, c.postcode))
            counts[c.country] = counts.get(c.country, 0) + 1
            pending.append(
                dict(
                    country=c.country,
                    postcode=c.postcode,
                    lat=c.lat,
                    lon=c.lon,
                    place=c.place[:200],
                )
            )
            if len(pending) >= batch:
                await self.conn.execute(postcode_centroids.insert(), pending)
                pending = []
        if pending:
            await self.conn.execute(postcode_centroids.insert(), pending)
        return counts
