"""Offer rows and the chat messages that show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.offers import Offer, OfferMode, OfferStatus
from bot.domain.partners import PartnerStatus
from bot.store.outbox import OutboxKind
from bot.store.tables import destinations, leads, offer_messages, offers, outbox, partners


def to_offer(row: Row[Any]) -> Offer:
    m = row._mapping
    return Offer(
        id=m["id"],
        lead_id=m["lead_id"],
        partner_id=m["partner_id"],
        round=m["round"],
        mode=OfferMode(m["mode"]),
        status=OfferStatus(m["status"]),
        created_at=m["created_at"],
        delivered_at=m["delivered_at"],
        expires_at=m["expires_at"],
        responded_at=m["responded_at"],
        responder=m["responder"],
        decline_reason=m["decline_reason"],
        remind_at=m["remind_at"],
        why=m["why"] or "",
    )


_CREATE = offers.insert().returning(*offers.c)  # built once: routing is hot
# built once, as each card delivered takes them
_FOR_LEAD = select(offers).where(offers.c.lead_id == bindparam("lead_id")).order_by(offers.c.id)
_DELIVERED = (
    update(offers)
    .where(
        offers.c.id == bindparam("offer_id"),
        offers.c.status == OfferStatus.PENDING,
        offers.c.delivered_at.is_(None),
    )
    .values(
        delivered_at=bindparam("at", type_=offers.c.delivered_at.type),
        expires_at=bindparam("expires", type_=offers.c.expires_at.type),
        remind_at=bindparam("remind", type_=offers.c.remind_at.type),
    )
    .returning(offers.c.id)
)
_ADD_MESSAGE = offer_messages.insert().returning(offer_messages.c.id)
# a lead's offers with their partners' slugs (built once: every new lead is answered with them)
_WITH_SLUGS = (
    select(offers, partners.c.slug.label("partner_slug"))
    .join(partners, partners.c.id == offers.c.partner_id)
    .where(offers.c.lead_id == bindparam("lead_id"))
    .order_by(offers.c.id)
)


class OfferRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def create(
        self,
        *,
        lead_id: int,
        partner_id: int,
        round: int,
        mode: OfferMode,
        now: datetime,
        why: str,
        status: OfferStatus = OfferStatus.PENDING,
        responder: str | None = None,
    ) -> Offer:
        values = {
            "lead_id": lead_id,
            "partner_id": partner_id,
            "round": round,
            "mode": mode,
            "status": status,
            "created_at": now,
            "responded_at": None if status is OfferStatus.PENDING else now,
            "responder": responder,
            "why": why,
        }
        return to_offer((await self.conn.execute(_CREATE, values)).one())

    async def get(self, offer_id: int) -> Offer | None:
        row = (await self.conn.execute(select(offers).where(offers.c.id == offer_id))).first()
        return to_offer(row) if row else None

    async def list_with_slugs(self, lead_id: int) -> list[tuple[Offer, str]]:
        """The lead's offers, oldest first, each with its partner's slug."""
        rows = await self.conn.execute(_WITH_SLUGS, {"lead_id": lead_id})
        return [(to_offer(r), r.partner_slug) for r in rows]

    async def list_for_lead(self, lead_id: int) -> list[Offer]:
        return [to_offer(r) for r in await self.conn.execute(_FOR_LEAD, {"lead_id": lead_id})]

    async def leave_pending(
        self,
        offer_id: int,
        to: OfferStatus,
        *,
        now: datetime,
        due_by: datetime | None = None,
        **values: Any,
    ) -> Offer | None:
        """Compare-and-set pending -> `to`; returns the offer only for the caller that won."""
        stmt = update(offers).where(offers.c.id == offer_id, offers.c.status == OfferStatus.PENDING)
        if due_by is not None:
            stmt = stmt.where(offers.c.expires_at <= due_by)
        stmt = stmt.values(status=to, responded_at=now, **values).returning(*offers.c)
        row = (await self.conn.execute(stmt)).first()
        return to_offer(row) if row else None

    async def withdraw_accepted(self, offer_id: int, *, now: datetime, reason: str) -> bool:
        """Compare-and-set accepted -> withdrawn: only a manager taking a lead back does this."""
        stmt = (
            update(offers)
            .where(offers.c.id == offer_id, offers.c.status == OfferStatus.ACCEPTED)
            .values(status=OfferStatus.WITHDRAWN, decline_reason=reason)
            .returning(offers.c.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def mark_delivered(
        self, offer_id: int, *, at: datetime, expires_at: datetime, remind_at: datetime | None
    ) -> bool:
        """Start the offer window on first delivery (only once, only while pending)."""
        params = {"offer_id": offer_id, "at": at, "expires": expires_at, "remind": remind_at}
        return (await self.conn.execute(_DELIVERED, params)).scalar() is not None

    async def mark_reminded(self, offer_id: int, *, now: datetime) -> bool:
        """Compare-and-set: the reminder goes out once, only while pending and due, and never
        once the window has closed (both timers overdue after a restart: the expiry's turn)."""
        stmt = (
            update(offers)
            .where(
                offers.c.id == offer_id,
                offers.c.status == OfferStatus.PENDING,
                offers.c.reminded_at.is_(None),
                offers.c.remind_at <= now,
                offers.c.expires_at > now,
            )
            .values(reminded_at=now)
            .returning(offers.c.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def claim_due(
        self, *, now: datetime, reminders: bool = False, skip: set[int] | None = None
    ) -> int | None:
        """One pending offer whose window (or reminder) is due, its lead locked for this caller.

        On PostgreSQL the lead row is taken with FOR UPDATE SKIP LOCKED, so several instances
        sweeping together each get different leads; SQLite serialises writers anyway.
        """
        due = (
            [offers.c.remind_at <= now, offers.c.reminded_at.is_(None), offers.c.expires_at > now]
            if reminders
            else [offers.c.expires_at <= now]
        )
        stmt = (
            select(offers.c.id)
            .join(leads, leads.c.id == offers.c.lead_id)
            .where(
                offers.c.status == OfferStatus.PENDING,
                *due,
                *([offers.c.id.not_in(skip)] if skip else []),
            )
            .order_by(offers.c.remind_at if reminders else offers.c.expires_at)
            .limit(1)
            .with_for_update(of=leads, skip_locked=True)
        )
        return (await self.conn.execute(stmt)).scalar()

    async def list_reminders(self) -> list[tuple[int, datetime]]:
        """Every pending offer with a reminder still to send, for re-arming at start."""
        stmt = select(offers.c.id, offers.c.remind_at).where(
            offers.c.status == OfferStatus.PENDING,
            offers.c.remind_at.is_not(None),
            offers.c.reminded_at.is_(None),
        )
        return [(r.id, r.remind_at) for r in await self.conn.execute(stmt)]

    async def list_armed(self) -> list[tuple[int, datetime]]:
        """Every pending offer with a running window, for re-arming timers at start."""
        stmt = select(offers.c.id, offers.c.expires_at).where(
            offers.c.status == OfferStatus.PENDING, offers.c.expires_at.is_not(None)
        )
        return [(r.id, r.expires_at) for r in await self.conn.execute(stmt)]

    async def add_message(
        self,
        *,
        offer_id: int,
        destination_id: int,
        platform: str,
        chat_id: str,
        message_id: str,
        now: datetime,
    ) -> int:
        row = {
            "offer_id": offer_id,
            "destination_id": destination_id,
            "platform": platform,
            "chat_id": chat_id,
            "message_id": message_id,
            "created_at": now,
        }
        return int((await self.conn.execute(_ADD_MESSAGE, row)).scalar_one())

    async def list_messages(self, offer_id: int) -> list[tuple[int, int]]:
        """(message row id, destination id) of every posted copy of the offer's card."""
        stmt = select(offer_messages.c.id, offer_messages.c.destination_id).where(
            offer_messages.c.offer_id == offer_id
        )
        return [(r.id, r.destination_id) for r in await self.conn.execute(stmt)]

    async def get_message(self, message_row_id: int) -> Row[Any] | None:
        stmt = select(offer_messages).where(offer_messages.c.id == message_row_id)
        return (await self.conn.execute(stmt)).first()

    async def count_standing_copies(self, offer_id: int) -> int:
        """Copies of the offer's card shown or on their way in a declared chat that is not
        broken. DM copies to reps are extra pushes and do not count: without a chat of its
        own the partner cannot be reached, and the offer is undeliverable."""
        declared = [destinations.c.member_id.is_(None), destinations.c.broken_at.is_(None)]
        shown = (
            select(func.count())
            .select_from(
                offer_messages.join(
                    destinations, destinations.c.id == offer_messages.c.destination_id
                )
            )
            .where(offer_messages.c.offer_id == offer_id, *declared)
        )
        queued = (
            select(func.count())
            .select_from(outbox.join(destinations, destinations.c.id == outbox.c.destination_id))
            .where(
                outbox.c.offer_id == offer_id,
                outbox.c.kind == OutboxKind.OFFER,
                outbox.c.status == "pending",
                *declared,
            )
        )
        total = 0
        for stmt in (shown, queued):
            total += int((await self.conn.execute(stmt)).scalar_one())
        return total

    async def list_pending_of_retired(self, *, limit: int) -> list[int]:
        """Pending offers to partners taken out of leadbot.yaml, by lead."""
        stmt = (
            select(offers.c.id)
            .join(partners, partners.c.id == offers.c.partner_id)
            .where(
                offers.c.status == OfferStatus.PENDING,
                partners.c.status == PartnerStatus.RETIRED,
            )
            .order_by(offers.c.lead_id, offers.c.id)
            .limit(limit)
        )
        return list((await self.conn.execute(stmt)).scalars())

    async def list_pending_at(self, destination_id: int) -> list[tuple[int, int]]:
        """(offer id, lead id) of pending offers shown or queued in this chat, by lead."""
        pending = offers.c.status == OfferStatus.PENDING
        shown = (
            select(offers.c.id, offers.c.lead_id)
            .join(offer_messages, offer_messages.c.offer_id == offers.c.id)
            .where(offer_messages.c.destination_id == destination_id, pending)
        )
        queued = (
            select(offers.c.id, offers.c.lead_id)
            .join(outbox, outbox.c.offer_id == offers.c.id)
            .where(
                outbox.c.destination_id == destination_id,
                outbox.c.kind == OutboxKind.OFFER,
                outbox.c.status == "pending",
                pending,
            )
        )
        rows = await self.conn.execute(union(shown, queued))
        return sorted({(r[0], r[1]) for r in rows}, key=lambda r: (r[1], r[0]))
