"""The append-only lead audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.store.tables import lead_events


@dataclass(frozen=True)
class LeadEvent:
    id: int
    lead_id: int
    offer_id: int | None
    at: datetime
    kind: str
    actor: str
    source: str
    data: dict[str, Any]


class EventRepo:
    """Appends are written together, in one statement, before the unit of work commits
    (or before events are read back): one round trip instead of one per event."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._pending: list[dict[str, Any]] = []

    async def append(
        self,
        lead_id: int,
        kind: EventKind,
        *,
        actor: Actor,
        source: Source,
        at: datetime,
        offer_id: int | None = None,
        **data: Any,
    ) -> None:
        self._pending.append(
            {
                "lead_id": lead_id,
                "offer_id": offer_id,
                "at": at,
                "kind": kind,
                "actor": actor.label[:200],
                "source": source,
                "data": data,
            }
        )

    async def flush(self) -> None:
        """Write the appended events (in the order they were appended)."""
        if self._pending:
            rows, self._pending = self._pending, []
            await self.conn.execute(lead_events.insert(), rows)

    async def list_for_lead(self, lead_id: int) -> list[LeadEvent]:
        await self.flush()
        stmt = (
            select(lead_events).where(lead_events.c.lead_id == lead_id).order_by(lead_events.c.id)
        )
        return [
            LeadEvent(r.id, r.lead_id, r.offer_id, r.at, r.kind, r.actor, r.source, r.data)
            for r in await self.conn.execute(stmt)
        ]
