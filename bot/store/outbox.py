"""Pending chat side effects, written in the same transaction as the state they report."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, exists, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import outbox


class OutboxKind(StrEnum):
    OFFER = "offer"  # post an offer card to one destination
    UPDATE = "update"  # edit one posted copy of an offer card
    NOTICE = "notice"  # post a notice (escalation, failure) to one destination
    WEBHOOK = "webhook"  # post a signed event to a CRM


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: OutboxKind
    destination_id: int | None
    offer_id: int | None
    offer_message_id: int | None
    lead_id: int | None
    payload: dict[str, Any]
    attempts: int
    claim: str = ""
    created_at: datetime | None = None  # when it was queued: how long it has been waiting
    maybe_sent: bool = False  # a try may have reached the platform: look before posting


_ENQUEUE = outbox.insert().returning(outbox.c.id)  # built once: queueing is hot


def _url(table: Any) -> Any:
    """A webhook item's endpoint (in its payload), for comparing in SQL."""
    return table.c.payload["url"].as_string()


@cache
def _claim_due(*, skip_chats: bool, skip_webhooks: bool) -> Any:
    """The due items a sender may lease, built once per shape (each sender polls it)."""
    earlier = outbox.alias("earlier")
    now = bindparam("now", type_=outbox.c.next_attempt_at.type)
    busy = outbox.c.destination_id.not_in(bindparam("chats", expanding=True))
    return (
        select(outbox)
        .where(
            or_(outbox.c.destination_id.is_(None), busy) if skip_chats else true(),
            outbox.c.destination_id.is_not(None) if skip_webhooks else true(),
            outbox.c.status == "pending",
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
            # a lead's webhook events go out in order to each endpoint: none while an older
            # one to the same URL waits (another endpoint's outage holds up nothing here)
            or_(
                outbox.c.kind != OutboxKind.WEBHOOK,
                ~exists().where(
                    earlier.c.kind == OutboxKind.WEBHOOK,
                    earlier.c.lead_id == outbox.c.lead_id,
                    earlier.c.status == "pending",
                    earlier.c.id < outbox.c.id,
                    _url(earlier) == _url(outbox),
                ),
            ),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )


_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        claimed_until=bindparam("until", type_=outbox.c.claimed_until.type),
        claim=bindparam("token"),
    )
)
_FINISH = (  # built once: every message sent ends here
    update(outbox)
    .where(outbox.c.id == bindparam("item_id"), outbox.c.claim == bindparam("token"))
    .values(
        status=bindparam("ended"),
        done_at=bindparam("now", type_=outbox.c.done_at.type),
        claimed_until=None,
        last_error=bindparam("error"),
        attempts=outbox.c.attempts + bindparam("tried", type_=Integer),
    )
)


class OutboxRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def enqueue(
        self,
        kind: OutboxKind,
        *,
        now: datetime,
        destination_id: int | None = None,
        offer_id: int | None = None,
        offer_message_id: int | None = None,
        lead_id: int | None = None,
        payload: dict[str, Any] | None = None,
        claim: tuple[str, datetime] | None = None,
        not_before: datetime | None = None,
    ) -> OutboxItem:
        """Queue an item; with `claim` (token, until) it is queued already leased to a sender;
        `not_before`: not due until then (a chat's pacing)."""
        token, until = claim or ("", None)
        values = {
            "kind": kind,
            "destination_id": destination_id,
            "offer_id": offer_id,
            "offer_message_id": offer_message_id,
            "lead_id": lead_id,
            "payload": payload or {},
            "status": "pending",
            "next_attempt_at": not_before or now,
            "created_at": now,
            "claim": token or None,
            "claimed_until": until,
        }
        item_id = (await self.conn.execute(_ENQUEUE, values)).scalar_one()
        return OutboxItem(
            item_id,
            kind,
            destination_id,
            offer_id,
            offer_message_id,
            lead_id,
            payload or {},
            0,
            token,
            now,
        )

    async def claim_due(
        self,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        busy: Collection[int | None] = (),
    ) -> list[OutboxItem]:
        """Lease due items to this sender under a fresh claim token, leaving out the chats in
        `busy` (destination ids this sender is still sending to; None: the webhooks).

        A lead's webhook events are leased one at a time, oldest first, so a CRM sees them in
        the order they happened even when one had to be retried.

        A crashed sender's lease runs out and the items return; a sender that finds its token
        gone (another took the item after the lease ran out) leaves the item alone.
        """
        chats = [d for d in busy if d is not None]
        stmt = _claim_due(skip_chats=bool(chats), skip_webhooks=None in busy)
        params = {"now": now, "limit": limit, "chats": chats}
        rows = list(await self.conn.execute(stmt, params))
        token = secrets.token_hex(8)
        if rows:
            leased = {"ids": [r.id for r in rows], "until": now + lease, "token": token}
            await self.conn.execute(_LEASE, leased)
        return [
            OutboxItem(
                r.id,
                OutboxKind(r.kind),
                r.destination_id,
                r.offer_id,
                r.offer_message_id,
                r.lead_id,
                r.payload,
                r.attempts,
                token,
                r.created_at,
                # a try ended unsure, or a sender died holding it (its lease ran out)
                bool(r.maybe_sent) or r.claimed_until is not None,
            )
            for r in rows
        ]

    async def renew(self, item: OutboxItem, *, until: datetime) -> bool:
        """Extend this sender's lease right before a send; False if the item is not ours now."""
        stmt = (
            update(outbox)
            .where(
                outbox.c.id == item.id, outbox.c.claim == item.claim, outbox.c.status == "pending"
            )
            .values(claimed_until=until)
            .returning(outbox.c.id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def finish(
        self, item: OutboxItem, *, status: str, now: datetime, error: str | None = None
    ) -> None:
        """Mark an item sent, skipped or failed for good."""
        await self.conn.execute(
            _FINISH,
            {
                "item_id": item.id,
                "token": item.claim,
                "ended": status,
                "now": now,
                "error": error,
                "tried": 0 if status == "skipped" else 1,
            },
        )

    async def retry_later(
        self,
        item: OutboxItem,
        *,
        at: datetime,
        error: str,
        counts: bool = True,
        maybe_sent: bool = False,
    ) -> None:
        """Try again at `at`; a rate limit (`counts=False`) does not use up an attempt.
        `maybe_sent`: the try may have reached the platform (kept until the item is done)."""
        values: dict[str, Any] = {
            "attempts": outbox.c.attempts + (1 if counts else 0),
            "next_attempt_at": at,
            "claimed_until": None,
            "last_error": error[:500],
        }
        if maybe_sent:
            values["maybe_sent"] = True
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == item.id, outbox.c.claim == item.claim)
            .values(values)
        )

    async def count_open_for_offer(self, offer_id: int, *, kind: OutboxKind) -> int:
        """Items of `kind` for the offer still waiting to be sent."""
        stmt = (
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.offer_id == offer_id, outbox.c.kind == kind, outbox.c.status == "pending"
            )
        )
        return int((await self.conn.execute(stmt)).scalar_one())

    async def count_failing_webhooks(self, url: str, *, tried: int) -> int:
        """Events for the webhook at `url` still waiting after `tried` failed tries or more."""
        stmt = (
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.kind == OutboxKind.WEBHOOK,
                outbox.c.status == "pending",
                outbox.c.attempts >= tried,
                _url(outbox) == url,
            )
        )
        return int((await self.conn.execute(stmt)).scalar_one())

    async def count(self, *, status: str) -> int:
        stmt = select(func.count()).select_from(outbox).where(outbox.c.status == status)
        return int((await self.conn.execute(stmt)).scalar_one())

    async def purge_done(self, *, before: datetime, failed_before: datetime, limit: int) -> int:
        """Delete up to `limit` items sent or skipped before `before` (their work is done and
        recorded elsewhere: the offer, its messages, the audit log), and items given up before
        `failed_before` (kept longer, to look into); returns how many."""
        done = or_(
            outbox.c.status.in_(("sent", "skipped")),
            and_(outbox.c.status == "failed", outbox.c.done_at < failed_before),
        )
        old = select(outbox.c.id).where(
            done, outbox.c.next_attempt_at < before, outbox.c.done_at < before
        )  # next_attempt_at bounds the index scan: an item is never due after it is done
        ids = list((await self.conn.execute(old.limit(limit))).scalars())
        if ids:
            await self.conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))
        return len(ids)
