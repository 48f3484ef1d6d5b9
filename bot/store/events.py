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
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

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
        await self.conn.execute(
            lead_events.insert().values(
                lead_id=lead_id,
                offer_id=offer_id,
                at=at,
                kind=kind,
                actor=actor.label[:200],
                source=source,
                data=data,
            )
        )

    async def list_for_lead(self, lead_id: int) -> list[LeadEvent]:
        stmt = (
            select(lead_events).where(lead_events.c.lead_id == lead_id).order_by(lead_events.c.id)
        )
        return [
            LeadEvent(r.id, r.lead_id, r.offer_id, r.at, r.kind, r.actor, r.source, r.data)
            for r in await self.conn.execute(stmt)
        ]
