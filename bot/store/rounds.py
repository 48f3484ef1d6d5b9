"""A round of offers opened at once: the rotation saved, the lead moved on, its offers made.

On PostgreSQL the three writes are one statement (data-modifying CTEs): two round trips fewer
between a new lead and its card. On SQLite, where a statement is a function call, they are the
three statements their repositories already have.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, Text, bindparam, func, literal, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.leads import DispatchStatus, Lead
from bot.domain.offers import Offer, OfferMode, OfferStatus
from bot.store.leads import LeadRepo, cas_call
from bot.store.offers import OfferRepo, to_offer
from bot.store.partners import PartnerRepo, rotation_statement, rotation_values
from bot.store.tables import offers
from bot.store.types import UtcDateTime


@cache
def _open_round(compare_and_set: Any) -> Any:
    """PostgreSQL: rotation, the lead's compare-and-set (`LeadRepo.cas`'s statement, built
    once a shape, so this is too) and the offers, one statement. Every data-modifying CTE runs
    once and in full; with the lead changed, no offer is made."""
    rotation = rotation_statement().columns().cte("rotation")
    moved = compare_and_set.cte("moved")
    chosen = (
        func.unnest(
            bindparam("o_partners", type_=postgresql.ARRAY(Integer)),
            bindparam("o_whys", type_=postgresql.ARRAY(Text)),
        )
        .table_valued("partner_id", "why", with_ordinality="n")
        .render_derived(name="chosen")
    )
    rows = (
        select(
            moved.c.id,
            chosen.c.partner_id,
            bindparam("o_round", type_=Integer),
            bindparam("o_mode", type_=String),
            literal(OfferStatus.PENDING.value, String),
            bindparam("o_now", type_=UtcDateTime()),
            chosen.c.why,
        )
        .select_from(moved.join(chosen, true()))
        .order_by(chosen.c.n)  # ids in the order the partners were chosen
    )
    made = (
        offers.insert()
        .from_select(
            ["lead_id", "partner_id", "round", "mode", "status", "created_at", "why"], rows
        )
        .returning(*offers.c)
        .cte("made")
    )
    return select(made).add_cte(rotation)


class RoundRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def open(
        self,
        lead: Lead,
        *,
        rotation: dict[int, float],
        chosen: list[tuple[int, str]],
        mode: OfferMode,
        explanation: list[Any],
        now: datetime,
    ) -> list[Offer] | None:
        """Offer `lead` (as locked by the caller) to the `chosen` (partner id, why), in that
        order, as its next round; save the rotation. None when the lead's status or round is
        no longer what `lead` says: the caller must not commit then."""
        picked = [pid for pid, _why in chosen]
        expect = {"status": lead.status, "round": lead.round}  # the lead as the caller locked it
        move = {
            "status": DispatchStatus.OFFERED,
            "round": lead.round + 1,
            "held_until": None,
            "explanation": explanation,
        }
        if self.conn.dialect.name != "postgresql":
            await PartnerRepo(self.conn).save_rotation(rotation, offered=picked, now=now)
            if not await LeadRepo(self.conn).cas(lead.id, expect=expect, now=now, **move):
                return None
            repo = OfferRepo(self.conn)
            return [
                await repo.create(
                    lead_id=lead.id,
                    partner_id=pid,
                    round=lead.round + 1,
                    mode=mode,
                    now=now,
                    why=why,
                )
                for pid, why in chosen
            ]
        compare_and_set, params = cas_call(lead.id, expect=expect, now=now, values=move)
        params.update(
            rotation_values("postgresql", rotation, offered=picked, now=now),
            o_partners=picked,
            o_whys=[why for _pid, why in chosen],
            o_round=lead.round + 1,
            o_mode=mode,
            o_now=now,
        )
        statement = _open_round(compare_and_set)
        made = {o.partner_id: o for o in map(to_offer, await self.conn.execute(statement, params))}
        return [made[pid] for pid in picked] if made else None
