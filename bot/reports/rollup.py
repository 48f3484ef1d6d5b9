"""The funnel rollup: funnel_sql's rows stored per day received, so a report over 90 days sums
stored days instead of reading every lead and offer.

It is kept current from the audit trail: every change to a lead writes a `lead_events` row, so
the days of the leads with events after the last one folded in (`funnel_rollup_state`) are the
days to rebuild. `refresh()` rebuilds them, each from scratch, in one transaction.

The mark only moves past events older than `SETTLE`: on PostgreSQL an event id can become
visible after a larger one (two transactions committing out of order), and a day touched by an
event that is not yet visible would otherwise never be rebuilt. Days touched within `SETTLE` are
rebuilt again at each refresh, which costs one day's leads each.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.sql import Select

from bot.reports import funnel_sql
from bot.reports.funnel_sql import COUNTS, Span
from bot.store.rollup_tables import funnel_days, funnel_reasons, funnel_rollup_state, funnel_times
from bot.store.tables import lead_events, leads
from bot.store.uow import UnitOfWork

SETTLE = timedelta(minutes=5)
_LOCK = 0x1EAD_F0  # PostgreSQL advisory lock: one refresh at a time across instances
_CHUNK = 200  # spans rebuilt per statement


async def refresh(uow: UnitOfWork, *, now: datetime) -> int:
    """Rebuild the days changed since the last refresh; the number of days rebuilt.
    The caller commits."""
    if uow.dialect == "postgresql":
        await uow.execute(select(func.pg_advisory_xact_lock(_LOCK)))
    mark = await _mark(uow)
    if mark is None:
        await uow.execute(insert(funnel_rollup_state).values(id=1, event_id=0))
        mark = 0
    days = await _touched_since(uow, mark)
    settled = (
        await uow.execute(
            select(func.max(lead_events.c.id)).where(
                lead_events.c.id > mark, lead_events.c.at < now - SETTLE
            )
        )
    ).scalar()
    joined = spans(days)
    for i in range(0, len(joined), _CHUNK):
        await _rebuild(uow, joined[i : i + _CHUNK])
    if settled is not None:
        await uow.execute(
            funnel_rollup_state.update()
            .where(funnel_rollup_state.c.id == 1)
            .values(event_id=settled)
        )
    return len(days)


async def stale_days(uow: UnitOfWork) -> list[date]:
    """The days the rollup may not hold as they are now (changed since the last refresh)."""
    return await _touched_since(uow, await _mark(uow) or 0)


async def _mark(uow: UnitOfWork) -> int | None:
    stmt = select(funnel_rollup_state.c.event_id).where(funnel_rollup_state.c.id == 1)
    mark: int | None = (await uow.execute(stmt)).scalar()
    return mark


async def _touched_since(uow: UnitOfWork, mark: int) -> list[date]:
    day = funnel_sql.day_of(uow.dialect, leads.c.received_at)
    touched = (
        select(day)
        .distinct()
        .select_from(lead_events.join(leads, leads.c.id == lead_events.c.lead_id))
        .where(lead_events.c.id > mark)
    )
    return sorted(_as_date(d) for (d,) in await uow.execute(touched))


async def _rebuild(uow: UnitOfWork, days: list[tuple[date, date]]) -> None:
    dialect = uow.dialect
    moments: list[Span] = [(_midnight(a), _midnight(b)) for a, b in days]
    for table in (funnel_days, funnel_reasons, funnel_times):
        await uow.execute(delete(table).where(_on(table.c.day, days)), long=True)
    raw = funnel_sql.counts(dialect, moments).subquery()
    await uow.execute(
        insert(funnel_days).from_select(
            ["day", "partner_id", "source", *COUNTS, "revenue"],
            select(
                raw.c.day,
                raw.c.partner_id,
                raw.c.source,
                *(func.sum(raw.c[name]) for name in COUNTS),
                func.sum(raw.c.revenue),
            ).group_by(raw.c.day, raw.c.partner_id, raw.c.source),
        ),
        long=True,
    )
    await uow.execute(
        insert(funnel_reasons).from_select(
            ["day", "partner_id", "source", "kind", "reason", "n"],
            funnel_sql.reasons(dialect, moments),
        ),
        long=True,
    )
    await uow.execute(
        insert(funnel_times).from_select(
            ["metric", "partner_id", "seconds", "day", "n"], funnel_sql.times(dialect, moments)
        ),
        long=True,
    )


def stored_counts(days: list[tuple[date, date]]) -> Select[Any]:
    return select(funnel_days).where(_on(funnel_days.c.day, days))


def stored_reasons(days: list[tuple[date, date]]) -> Select[Any]:
    return select(funnel_reasons).where(_on(funnel_reasons.c.day, days))


def stored_times(days: list[tuple[date, date]]) -> Select[Any]:
    return select(funnel_times).where(_on(funnel_times.c.day, days))


def _on(column: ColumnElement[Any], days: list[tuple[date, date]]) -> ColumnElement[bool]:
    return or_(*(and_(column >= a, column < b) for a, b in days))


def spans(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days, consecutive ones joined: [(first, the day after the last), ...]."""
    joined: list[tuple[date, date]] = []
    for d in days:
        if joined and joined[-1][1] == d:
            joined[-1] = (joined[-1][0], d + timedelta(days=1))
        else:
            joined.append((d, d + timedelta(days=1)))
    return joined


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
