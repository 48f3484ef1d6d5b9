"""Where a person's data is held, and taking it out: contacts, and copies in events, offers,
routing explanations and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.leads import DispatchStatus
from bot.domain.privacy import ErasedBy, Phone, Scrubber, digits_pattern, parse_phone, same_phone
from bot.store.tables import lead_contacts, lead_events, leads, offers, outbox

# done with: nobody will work these leads any more (won or lost), or nobody took them
FINISHED = (DispatchStatus.CLOSED, DispatchStatus.UNASSIGNED)


class PrivacyRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find_by_email(self, email: str) -> list[int]:
        """Leads whose contact has this address (`email` normalised: trimmed, case-folded)."""
        stored = lead_contacts.c.email
        stmt = select(lead_contacts.c.lead_id, stored).where(stored.is_not(None))
        if email.isascii():  # else SQLite's lower() cannot fold it: compared below only
            stmt = stmt.where(func.lower(func.trim(stored)) == email)
        rows = await self.conn.execute(stmt)
        return sorted(r.lead_id for r in rows if r.email.strip().casefold() == email)

    async def find_by_phone(self, phone: Phone) -> list[int]:
        """Leads whose contact has this number, however it was written."""
        stored = lead_contacts.c.phone
        stmt = select(lead_contacts.c.lead_id, stored).where(stored.like(digits_pattern(phone)))
        rows = await self.conn.execute(stmt)
        return sorted(r.lead_id for r in rows if same_phone(parse_phone(r.phone), phone))

    def _expired(self, cutoff: datetime) -> Select[int]:
        """Finished leads unchanged since `cutoff` whose contact was not purged yet."""
        return (
            select(leads.c.id)
            .select_from(leads.outerjoin(lead_contacts, lead_contacts.c.lead_id == leads.c.id))
            .where(
                leads.c.status.in_(FINISHED),
                leads.c.updated_at <= cutoff,
                lead_contacts.c.erased_at.is_(None),
            )
        )

    async def list_expired(self, *, cutoff: datetime, limit: int) -> list[int]:
        """Up to `limit` leads due for retention, the longest untouched first (one scan)."""
        stmt = self._expired(cutoff).order_by(leads.c.updated_at).limit(limit)
        return list((await self.conn.execute(stmt)).scalars())

    async def claim_expired(self, lead_id: int, *, cutoff: datetime) -> bool:
        """Lock the lead if it is still due and nobody else holds it (SKIP LOCKED on
        PostgreSQL: another instance purging it makes this one pass it by)."""
        stmt = (
            self._expired(cutoff)
            .where(leads.c.id == lead_id)
            .with_for_update(of=leads, skip_locked=True)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def erase_contact(self, lead_id: int, *, now: datetime, by: ErasedBy) -> None:
        """Empty the lead's contact fields, noting when and why."""
        values = dict(name=None, email=None, phone=None, company=None, street=None)
        done = await self.conn.execute(
            update(lead_contacts)
            .where(lead_contacts.c.lead_id == lead_id)
            .values(**values, erased_at=now, erased_by=by)
            .returning(lead_contacts.c.lead_id)
        )
        if done.scalar() is None:
            await self.conn.execute(
                lead_contacts.insert().values(
                    lead_id=lead_id, **values, erased_at=now, erased_by=by
                )
            )

    async def scrub_copies(self, lead_id: int, offer_ids: list[int], scrub: Scrubber) -> int:
        """Scrub the lead's audit events, offers' reasons and outbox payloads; rows changed."""
        changed = 0
        tables = [
            (lead_events, lead_events.c.data, lead_events.c.lead_id == lead_id),
            (offers, offers.c.why, offers.c.lead_id == lead_id),
            (leads, leads.c.explanation, leads.c.id == lead_id),
            (
                outbox,
                outbox.c.payload,
                or_(
                    outbox.c.lead_id == lead_id,
                    and_(outbox.c.offer_id.is_not(None), outbox.c.offer_id.in_(offer_ids)),
                ),
            ),
        ]
        for table, column, where in tables:
            key = table.primary_key.columns.values()[0]
            for row_id, value in list(await self.conn.execute(select(key, column).where(where))):
                if value is None:
                    continue
                clean = scrub.text(value) if isinstance(value, str) else scrub.json(value)
                if clean != value:
                    await self.conn.execute(
                        update(table).where(key == row_id).values({column.name: clean})
                    )
                    changed += 1
        return changed
