"""Lead rows: insert (idempotent), load, lock, and compare-and-set updates."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ClauseElement, Row, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.leads import Contact, DispatchStatus, Lead, NewLead, Stage
from bot.store.tables import lead_contacts, leads, policy_versions


def to_lead(row: Row[Any]) -> Lead:
    m = row._mapping
    return Lead(
        id=m["id"],
        public_id=m["public_id"],
        source=m["source"],
        external_id=m["external_id"],
        received_at=m["received_at"],
        country=m["country"],
        postcode=m["postcode"],
        city=m["city"],
        lat=m["lat"],
        lon=m["lon"],
        specialties=tuple(m["specialties"] or ()),
        need=m["need"],
        temperature=m["temperature"],
        qualification=m["qualification"],
        estimated_value=m["estimated_value"],
        status=DispatchStatus(m["status"]),
        stage=Stage(m["stage"]),
        partner_id=m["partner_id"],
        policy_version=m["policy_version"],
        round=m["round"],
        stage_value=m["stage_value"],
        lost_reason=m["lost_reason"],
        language=m["language"],
        held_until=m["held_until"],
    )


@cache
def _insert_lead(dialect: str) -> Any:
    """Built once per dialect (intake is hot): the values come as parameters."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    newest = select(func.max(policy_versions.c.version)).scalar_subquery()
    return (
        insert(leads)
        .values(status=DispatchStatus.NEW, stage=Stage.NONE, round=0, policy_version=newest)
        .on_conflict_do_nothing()
        .returning(leads)
    )


_INSERT_CONTACT = lead_contacts.insert()
_CONTACT = ("name", "email", "phone", "company", "street", "consent")


@cache
def _insert_lead_and_contact(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the lead and its contact in one statement, a round trip fewer for every
    new lead. A repeat of (source, external_id) inserts neither and returns no row."""
    values = {c: bindparam(f"l_{c}", type_=leads.c[c].type) for c in columns}
    lead = _insert_lead("postgresql").values(**values).cte("new_lead")
    given = [bindparam(f"c_{c}", type_=lead_contacts.c[c].type) for c in _CONTACT]
    contact = (
        lead_contacts.insert()
        .from_select(["lead_id", *_CONTACT], select(lead.c.id, *given))
        .cte("new_contact")
    )
    return select(lead).add_cte(contact)


Expected = tuple[tuple[str, bool], ...]  # the columns a compare-and-set expects, and if NULL


@cache
def _cas_where(expect: Expected) -> Any:
    """A compare-and-set UPDATE's WHERE for the columns expected, built once."""
    stmt = update(leads).where(leads.c.id == bindparam("lead_id"))
    for column, null in expect:
        col = leads.c[column]
        stmt = stmt.where(col.is_(None) if null else col == bindparam(f"x_{column}"))
    return stmt


@cache
def _cas(expect: Expected, columns: tuple[str, ...]) -> Any:
    """The whole compare-and-set UPDATE for the columns expected and set, built once: each
    lead takes a few. Parameters: `lead_id`, `x_<column>` expected, `v_<column>` set (and
    `v_updated_at`)."""
    values = {c: bindparam(f"v_{c}", type_=leads.c[c].type) for c in ("updated_at", *columns)}
    return _cas_where(expect).values(values).returning(leads.c.id)


def _expected(lead_id: int, expect: dict[str, Any]) -> tuple[Expected, dict[str, Any]]:
    """A compare-and-set's WHERE shape (a None expected is IS NULL) and its parameters."""
    shape = tuple((c, v is None) for c, v in expect.items())
    params = {f"x_{c}": v for c, v in expect.items() if v is not None}
    params["lead_id"] = lead_id
    return shape, params


def cas_call(
    lead_id: int, *, expect: dict[str, Any], now: datetime, values: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The compare-and-set of plain `values` (`_cas`) with its parameters, for
    `LeadRepo.cas` and for a statement that carries it (bot/store/rounds.py)."""
    shape, params = _expected(lead_id, expect)
    params.update({f"v_{c}": v for c, v in values.items()}, v_updated_at=now)
    return _cas(shape, tuple(values)), params


_GET = select(leads).where(leads.c.id == bindparam("lead_id"))
_LOCK = _GET.with_for_update()  # every use case that changes a lead starts here


class LeadRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, lead: NewLead, *, public_id: str, now: datetime) -> Lead | None:
        """Insert a new lead on the newest applied policy version (read in the same statement);
        None when (source, external_id) is already stored."""
        fields = {
            "public_id": public_id,
            "source": lead.source,
            "external_id": lead.external_id,
            "received_at": now,
            "country": lead.country,
            "postcode": lead.postcode,
            "city": lead.city,
            "lat": lead.lat,
            "lon": lead.lon,
            "specialties": list(lead.specialties),
            "need": lead.need,
            "temperature": lead.temperature,
            "qualification": lead.qualification,
            "estimated_value": lead.estimated_value,
            "language": lead.language,
            "request_digest": lead.request_digest,
            "updated_at": now,
        }
        contact = {c: getattr(lead.contact, c) for c in _CONTACT}
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            both = _insert_lead_and_contact(tuple(fields))
            params = {f"l_{k}": v for k, v in fields.items()}
            params.update({f"c_{k}": v for k, v in contact.items()})
            row = (await self.conn.execute(both, params)).first()
            return to_lead(row) if row else None
        row = (await self.conn.execute(_insert_lead(dialect), fields)).first()
        if row is None:
            return None
        await self.conn.execute(_INSERT_CONTACT, {"lead_id": row.id, **contact})
        return to_lead(row)

    async def get(self, lead_id: int) -> Lead | None:
        row = (await self.conn.execute(_GET, {"lead_id": lead_id})).first()
        return to_lead(row) if row else None

    async def get_by_public_id(self, public_id: str) -> Lead | None:
        stmt = select(leads).where(leads.c.public_id == public_id.upper())
        row = (await self.conn.execute(stmt)).first()
        return to_lead(row) if row else None

    async def get_by_external_id(
        self, *, source: str, external_id: str
    ) -> tuple[Lead, str | None] | None:
        """The lead stored under (source, external_id), with its request digest, if any."""
        stmt = select(leads).where(leads.c.source == source, leads.c.external_id == external_id)
        row = (await self.conn.execute(stmt)).first()
        return (to_lead(row), row.request_digest) if row else None

    async def lock(self, lead_id: int) -> Lead | None:
        """Load and row-lock a lead; every mutating use case locks the lead first (one order)."""
        row = (await self.conn.execute(_LOCK, {"lead_id": lead_id})).first()
        return to_lead(row) if row else None

    async def cas(
        self,
        lead_id: int,
        *,
        expect: dict[str, Any],
        now: datetime,
        **values: Any,
    ) -> bool:
        """UPDATE leads SET values WHERE id AND every column in `expect` still has its value."""
        if any(isinstance(v, ClauseElement) for v in values.values()):  # set from SQL
            shape, params = _expected(lead_id, expect)
            stmt = _cas_where(shape).values(updated_at=now, **values).returning(leads.c.id)
        else:
            stmt, params = cas_call(lead_id, expect=expect, now=now, values=values)
        return (await self.conn.execute(stmt, params)).scalar() is not None

    async def escalation_state(self, lead_id: int) -> tuple[int, datetime] | None:
        """(notices sent, when the last went out) for an escalated lead."""
        stmt = select(leads.c.escalations, leads.c.escalated_at).where(leads.c.id == lead_id)
        row = (await self.conn.execute(stmt)).first()
        return (row.escalations, row.escalated_at) if row and row.escalated_at else None

    async def stale_marks(
        self, lead_id: int
    ) -> tuple[datetime, datetime | None, datetime | None] | None:
        """(last stage change, nudged at, managers told at) of an accepted lead."""
        stmt = select(leads.c.stage_changed_at, leads.c.nudged_at, leads.c.stale_alerted_at).where(
            leads.c.id == lead_id
        )
        row = (await self.conn.execute(stmt)).first()
        if row is None or row.stage_changed_at is None:
            return None
        return row.stage_changed_at, row.nudged_at, row.stale_alerted_at

    async def get_contact(self, lead_id: int) -> Contact:
        stmt = select(lead_contacts).where(lead_contacts.c.lead_id == lead_id)
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            return Contact()
        m = row._mapping
        return Contact(
            m["name"], m["email"], m["phone"], m["company"], m["street"], m["erased_by"],
            m["consent"],
        )  # fmt: skip

    async def get_explanation(self, lead_id: int) -> list[dict[str, Any]]:
        """Every routing decision made for the lead, oldest first."""
        stmt = select(leads.c.explanation).where(leads.c.id == lead_id)
        return list((await self.conn.execute(stmt)).scalar() or [])

    async def list_since(self, since: datetime) -> list[Lead]:
        """Leads received since `since`, oldest first (for replays)."""
        stmt = select(leads).where(leads.c.received_at >= since).order_by(leads.c.received_at)
        return [to_lead(r) for r in await self.conn.execute(stmt)]

    async def list_versions(self, *, status: DispatchStatus) -> list[int]:
        """Policy versions in use by leads in `status`."""
        stmt = select(leads.c.policy_version).where(leads.c.status == status).distinct()
        return list((await self.conn.execute(stmt)).scalars())

    async def list_escalation_due(
        self, *, version: int, cutoff: datetime, max_notices: int
    ) -> list[int]:
        """Unassigned leads on `version` whose last notice is older than `cutoff`, with notices
        still to send."""
        stmt = (
            select(leads.c.id)
            .where(
                leads.c.status == DispatchStatus.UNASSIGNED,
                leads.c.policy_version == version,
                leads.c.escalated_at <= cutoff,
                leads.c.escalations <= max_notices,
            )
            .order_by(leads.c.escalated_at)
            .limit(1000)
        )
        return list((await self.conn.execute(stmt)).scalars())

    async def list_stale_due(self, *, version: int, cutoff: datetime) -> list[int]:
        """Accepted leads on `version` due for a nudge (no stage change since `cutoff`), or,
        nudged before `cutoff`, for the managers' alert."""
        stmt = (
            select(leads.c.id)
            .where(
                leads.c.status == DispatchStatus.ACCEPTED,
                leads.c.policy_version == version,
                leads.c.stale_alerted_at.is_(None),
                or_(
                    and_(leads.c.nudged_at.is_(None), leads.c.stage_changed_at <= cutoff),
                    leads.c.nudged_at <= cutoff,
                ),
            )
            .order_by(leads.c.stage_changed_at)
            .limit(1000)
        )
        return list((await self.conn.execute(stmt)).scalars())

    async def list_stranded(self, *, received_before: datetime, now: datetime) -> list[int]:
        """Leads stored but never routed (a crash in between), not counting held ones."""
        stmt = (
            select(leads.c.id)
            .where(
                leads.c.status == DispatchStatus.NEW,
                leads.c.received_at <= received_before,
                or_(leads.c.held_until.is_(None), leads.c.held_until <= now),
            )
            .order_by(leads.c.received_at)
            .limit(500)
        )
        return list((await self.conn.execute(stmt)).scalars())

    async def list_due_holds(self, *, now: datetime) -> list[int]:
        """Held leads whose first partner has opened: route them again."""
        stmt = (
            select(leads.c.id)
            .where(
                leads.c.status.in_([DispatchStatus.NEW, DispatchStatus.OFFERED]),
                leads.c.held_until <= now,
            )
            .order_by(leads.c.held_until)
            .limit(500)
        )
        return list((await self.conn.execute(stmt)).scalars())
