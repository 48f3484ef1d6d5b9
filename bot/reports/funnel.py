"""The funnel: what happened to the leads received in a period, per partner, per source or
overall. Summed in the database: whole days from the daily rollup (bot/reports/rollup.py),
the rest live from leads and offers (bot/reports/funnel_sql.py); never by loading leads into
Python. Percentiles are picked here from the summed histograms.

Definitions (the `help` of the `funnel` command says the same):
- the cohort is the leads *received* in the period; everything that happened to them counts,
  whenever it happened;
- offered/accepted/declined/expired/undeliverable/withdrawn count offers made by routing;
  manual assignments by a manager are counted apart as `assigned`; an accepted offer a manager
  took back (it reads withdrawn) still counts as accepted;
- acceptance rate = accepted / (accepted + declined + expired): of the offers that reached the
  partner and ran their course;
- time to accept = card delivered -> accepted; time to first contact = lead received -> first
  marked contacted (or any later step). Percentiles are nearest-rank, over times kept at the
  precision they are shown at (funnel_sql.bucket);
- contacted/qualified/opportunity count leads that reached the step (a jump passes the steps
  between); win rate = won / (won + lost); open = accepted and not closed; stale = open leads
  the stale check has nudged and that have not moved since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.sql import Subquery

from bot.domain.periods import Period
from bot.reports import funnel_sql, rollup
from bot.reports.funnel_sql import COUNTS, NO_PARTNER, Span
from bot.store.tables import leads
from bot.store.uow import UnitOfWork

Grouping = Literal["partner", "source", "all"]
ALL = "all"
_INSTANT = timedelta(microseconds=1)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class Funnel:
    """One row of the funnel: a partner, a source, or everything."""

    key: str
    name: str
    leads: int = 0  # leads in the cohort (for a partner: leads it holds or held at the end)
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    undeliverable: int = 0
    withdrawn: int = 0
    assigned: int = 0
    declined_by: dict[str, int] = field(default_factory=dict)
    accept_p50: float | None = None  # seconds
    accept_p90: float | None = None
    contacted: int = 0
    qualified: int = 0
    opportunity: int = 0
    won: int = 0
    lost: int = 0
    lost_by: dict[str, int] = field(default_factory=dict)
    revenue: float = 0.0
    open: int = 0
    stale: int = 0
    unassigned: int = 0
    contact_p50: float | None = None  # seconds
    contact_p90: float | None = None
    cost: float | None = None  # sources with a cost in leadbot.yaml

    @property
    def acceptance_rate(self) -> float | None:
        ran = self.accepted + self.declined + self.expired
        return self.accepted / ran if ran else None

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None

    @property
    def cost_per_won(self) -> float | None:
        return self.cost / self.won if self.cost is not None and self.won else None

    @property
    def roi(self) -> float | None:
        """(revenue - cost) / cost."""
        return (self.revenue - self.cost) / self.cost if self.cost else None


def _parts(period: Period, stale: list[date]) -> tuple[list[tuple[date, date]], list[Span]]:
    """The whole UTC days of `period` the rollup holds as they are, and the spans read live:
    the hours at its edges (`7d` asked at 10:42 starts at 10:42 seven days ago and ends now)
    and the days changed since the rollup was last refreshed."""
    first = (period.start + timedelta(days=1) - _INSTANT).date()  # midnight on or after start
    end = period.end.date()  # midnight on or before end
    if first >= end:
        return [], [(period.start, period.end)]
    changed = sorted({d for d in stale if first <= d < end})
    every_day = (first + timedelta(days=i) for i in range((end - first).days))
    whole = rollup.spans(d for d in every_day if d not in set(changed))
    edges = [(period.start, _midnight(first)), (_midnight(end), period.end)]
    live = [(a, b) for a, b in edges if a < b]
    live += [(_midnight(a), _midnight(b)) for a, b in rollup.spans(changed)]
    return whole, live


async def funnel(
    uow: UnitOfWork,
    period: Period,
    *,
    by: Grouping = "partner",
    partner: str | None = None,
    costs: dict[str, float] | None = None,
) -> list[Funnel]:
    """The funnel rows for `period`, grouped `by` partner, source or not at all.

    `partner` (a slug) narrows everything to that partner's offers and leads.
    `costs`: cost per lead by source, for cost and ROI figures.
    Whole days come from the rollup and days changed since it was refreshed are read live: the
    answer is the same either way; `rollup.refresh` (the command engine runs it) makes it fast.
    By source, the times behind the percentiles are read live for the whole period (the rollup
    keeps them per partner): slower on a large database, and the same numbers.
    """
    only: int | None = None
    if partner is not None:
        found = await uow.partners.get_by_slug(partner)
        if found is None:
            return []
        only = found[0]
    if by == "source":
        rows = await _collect(uow, period, by="source", only=only)
        if costs:
            for f in rows.values():
                if f.key in costs:
                    f.cost = costs[f.key] * f.leads
        return _ordered(r.done() for r in rows.values())
    rows = await _collect(uow, period, by="partner", only=only)
    if by == ALL:
        return [await _total(uow, period, rows, costs)] if rows else []
    return await _partners(uow, rows)


async def funnel_all(
    uow: UnitOfWork, period: Period, *, costs: dict[str, float] | None = None
) -> tuple[list[Funnel], Funnel]:
    """A row per partner and the total of everything, from one pass over the data."""
    rows = await _collect(uow, period, by="partner", only=None)
    total = await _total(uow, period, rows, costs)
    return await _partners(uow, rows), total


async def _partners(uow: UnitOfWork, rows: dict[Any, _Row]) -> list[Funnel]:
    names = await uow.partners.list_names()
    found = []
    for pid, r in rows.items():
        if pid == NO_PARTNER:
            continue
        r.key, r.name = names.get(pid, (str(pid), f"partner #{pid}"))
        found.append(r.done())
    return _ordered(found)


async def _total(
    uow: UnitOfWork, period: Period, rows: dict[Any, _Row], costs: dict[str, float] | None
) -> Funnel:
    total = _Row(key=ALL, name=ALL)
    for r in rows.values():
        total.add(r)
    if costs:
        total.cost = sum(await _costs_by_source(uow, period, costs))
    return total.done()


def _ordered(rows: Iterable[Funnel]) -> list[Funnel]:
    return sorted(rows, key=lambda f: (-f.offered - f.leads, f.key))


@dataclass
class _Row(Funnel):
    """A funnel row being summed up, with its time histograms."""

    times: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, other: Funnel) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.revenue += other.revenue
        for mine, theirs in ((self.declined_by, other.declined_by), (self.lost_by, other.lost_by)):
            for reason, n in theirs.items():
                mine[reason] = mine.get(reason, 0) + n
        if isinstance(other, _Row):
            for metric, histogram in other.times.items():
                self.count_times(metric, histogram.items())

    def count_times(self, metric: str, counts: Iterable[tuple[int, int]]) -> None:
        histogram = self.times.setdefault(metric, {})
        for seconds, n in counts:
            histogram[seconds] = histogram.get(seconds, 0) + n

    def done(self) -> Funnel:
        accept, contact = self.times.get("accept", {}), self.times.get("contact", {})
        self.accept_p50, self.accept_p90 = nearest_rank(accept, 50), nearest_rank(accept, 90)
        self.contact_p50, self.contact_p90 = nearest_rank(contact, 50), nearest_rank(contact, 90)
        values = {f.name: getattr(self, f.name) for f in fields(Funnel)}
        return Funnel(**values)


async def _collect(
    uow: UnitOfWork, period: Period, *, by: Literal["partner", "source"], only: int | None
) -> dict[Any, _Row]:
    """The funnel summed per partner (0: leads nobody holds) or per source: the rollup's whole
    days and the live spans, each summed in the database, added up here."""
    dialect = uow.dialect
    days, spans = _parts(period, await rollup.stale_days(uow))
    parts: list[tuple[Subquery, Subquery, Subquery]] = []
    if days:
        parts.append(
            (
                rollup.stored_counts(days).subquery(),
                rollup.stored_reasons(days).subquery(),
                rollup.stored_times(days).subquery(),
            )
        )
    if spans:
        parts.append(
            (
                funnel_sql.counts(dialect, spans).subquery(),
                funnel_sql.reasons(dialect, spans).subquery(),
                funnel_sql.times(dialect, spans).subquery(),
            )
        )
    rows: dict[Any, _Row] = {}

    def row(key: Any) -> _Row:
        if key not in rows:
            rows[key] = _Row(key=str(key), name=str(key))
        return rows[key]

    for counts, reasons_, times in parts:
        scope = [counts.c.partner_id == only] if only is not None else []
        key = counts.c.partner_id if by == "partner" else counts.c.source
        stmt = (
            select(key, *(func.sum(counts.c[n]) for n in COUNTS), func.sum(counts.c.revenue))
            .where(*scope)
            .group_by(key)
        )
        for r in await uow.execute(stmt):
            summed = Funnel(key="", name="", revenue=float(r[-1] or 0))
            for name, value in zip(COUNTS, r[1:-1], strict=True):
                setattr(summed, name, int(value or 0))
            row(r[0]).add(summed)

        scope = [reasons_.c.partner_id == only] if only is not None else []
        key = reasons_.c.partner_id if by == "partner" else reasons_.c.source
        stmt = (
            select(key, reasons_.c.kind, reasons_.c.reason, func.sum(reasons_.c.n))
            .where(*scope)
            .group_by(key, reasons_.c.kind, reasons_.c.reason)
        )
        for k, kind, reason, n in await uow.execute(stmt):
            by_reason = row(k).declined_by if kind == "declined" else row(k).lost_by
            by_reason[reason] = by_reason.get(reason, 0) + int(n)

        if by == "partner":
            await _sum_times(uow, times, times.c.partner_id, only, row)
    if by == "source":  # the rollup keeps times per partner: read them live for the period
        times = funnel_sql.times(dialect, [(period.start, period.end)], by_source=True).subquery()
        await _sum_times(uow, times, times.c.source, only, row)
    return rows


async def _sum_times(
    uow: UnitOfWork,
    times: Subquery,
    key: ColumnElement[Any],
    only: int | None,
    row: Callable[[Any], _Row],
) -> None:
    """Add the time histograms in `times` to the rows, summed per `key` (a partner's in the
    order of funnel_times' key: no sort)."""
    scope = [times.c.partner_id == only] if only is not None else []
    stmt = (
        select(times.c.metric, key, times.c.seconds, func.sum(times.c.n))
        .where(*scope)
        .group_by(times.c.metric, key, times.c.seconds)
    )
    for metric, k, seconds, n in await uow.execute(stmt):
        row(k).count_times(metric, [(int(seconds), int(n))])


def nearest_rank(histogram: dict[int, int], q: int) -> float | None:
    """The q-th percentile, nearest-rank, of a histogram {value: count}."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = (total * q + 99) // 100
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    raise AssertionError("unreachable: the ranks add up to the total")


def _cohort(period: Period) -> ColumnElement[bool]:
    return and_(leads.c.received_at >= period.start, leads.c.received_at < period.end)


async def _costs_by_source(uow: UnitOfWork, period: Period, costs: dict[str, float]) -> list[float]:
    stmt = (
        select(leads.c.source, func.count())
        .where(_cohort(period), leads.c.source.in_(list(costs)))
        .group_by(leads.c.source)
    )
    return [costs[source] * n for source, n in await uow.execute(stmt)]


def reasons(counts: dict[str, int]) -> str:
    """'not_my_area 3, spam 1' (largest first)."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k} {v}" for k, v in ordered) or "-"
