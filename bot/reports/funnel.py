"""The funnel: what happened to the leads received in a period, per partner, per source or
overall. Computed in the database with aggregate queries (percentiles with window functions),
never by loading leads into Python.

Definitions (the `help` of the `funnel` command says the same):
- the cohort is the leads *received* in the period; everything that happened to them counts,
  whenever it happened;
- offered/accepted/declined/expired/undeliverable/withdrawn count offers made by routing;
  manual assignments by a manager are counted apart as `assigned`;
- acceptance rate = accepted / (accepted + declined + expired): of the offers that reached the
  partner and ran their course;
- time to accept = card delivered -> accepted; time to first contact = lead received -> first
  marked contacted (or any later step). Percentiles are nearest-rank;
- contacted/qualified/opportunity count leads that reached the step (a jump passes the steps
  between); win rate = won / (won + lost); open = accepted and not closed; stale = open leads
  the stale check has nudged and that have not moved since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, literal_column, select
from sqlalchemy.sql import Select, Subquery

from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import OfferMode, OfferStatus
from bot.domain.periods import Period
from bot.store.tables import leads, offers
from bot.store.uow import UnitOfWork

Grouping = Literal["partner", "source", "all"]
ALL = "all"


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


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _cohort(period: Period) -> ColumnElement[bool]:
    return and_(leads.c.received_at >= period.start, leads.c.received_at < period.end)


def _offer_key(by: Grouping) -> ColumnElement[Any]:
    if by == "partner":
        return offers.c.partner_id
    return leads.c.source if by == "source" else literal_column(f"'{ALL}'")


def _lead_key(by: Grouping) -> ColumnElement[Any]:
    if by == "partner":
        return leads.c.partner_id
    return leads.c.source if by == "source" else literal_column(f"'{ALL}'")


def _percentiles(
    values: Subquery, dialect: str, *, quantiles: tuple[int, ...] = (50, 90)
) -> Select[Any]:
    """(key, p50, p90) over `values` (columns: key, value), nearest-rank, in the database.

    PostgreSQL's percentile_disc is nearest-rank and sorts once per group; SQLite has no
    percentile function, so rows are ranked with window functions and the rank picked.
    """
    if dialect == "postgresql":
        return select(
            values.c.key,
            *(
                func.percentile_disc(q / 100).within_group(values.c.value).label(f"p{q}")
                for q in quantiles
            ),
        ).group_by(values.c.key)
    ranked = select(
        values.c.key,
        values.c.value,
        func.row_number().over(partition_by=values.c.key, order_by=values.c.value).label("rn"),
        func.count().over(partition_by=values.c.key).label("n"),
    ).subquery()
    picks = [
        func.max(case((ranked.c.rn == (ranked.c.n * q + 99) // 100, ranked.c.value))).label(f"p{q}")
        for q in quantiles
    ]
    return select(ranked.c.key, *picks).group_by(ranked.c.key)


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
    """
    dialect = uow.dialect
    only: int | None = None
    if partner is not None:
        found = await uow.partners.get_by_slug(partner)
        if found is None:
            return []
        only = found[0]
    cohort = _cohort(period)
    okey, lkey = _offer_key(by).label("key"), _lead_key(by).label("key")
    offer_scope = [cohort] + ([offers.c.partner_id == only] if only is not None else [])
    lead_scope = [cohort] + ([leads.c.partner_id == only] if only is not None else [])
    routed = offers.c.mode != OfferMode.MANUAL
    joined = offers.join(leads, leads.c.id == offers.c.lead_id)

    def grouped(key: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        return [] if by == ALL else [key]  # PostgreSQL refuses GROUP BY a constant

    rows: dict[Any, Funnel] = {}

    def row(key: Any) -> Funnel:
        if key not in rows:
            rows[key] = Funnel(key=str(key), name=str(key))
        return rows[key]

    status = offers.c.status
    for r in await uow.execute(
        select(
            okey,
            _count(routed).label("offered"),
            _count(and_(routed, status == OfferStatus.ACCEPTED)).label("accepted"),
            _count(and_(routed, status == OfferStatus.DECLINED)).label("declined"),
            _count(and_(routed, status == OfferStatus.EXPIRED)).label("expired"),
            _count(and_(routed, status == OfferStatus.UNDELIVERABLE)).label("undeliverable"),
            _count(and_(routed, status == OfferStatus.WITHDRAWN)).label("withdrawn"),
            _count(offers.c.mode == OfferMode.MANUAL).label("assigned"),
        )
        .select_from(joined)
        .where(*offer_scope)
        .group_by(*grouped(okey))
    ):
        f = row(r.key)
        f.offered, f.accepted, f.declined = r.offered, r.accepted, r.declined
        f.expired, f.undeliverable, f.withdrawn = r.expired, r.undeliverable, r.withdrawn
        f.assigned = r.assigned

    for r in await uow.execute(
        select(okey, offers.c.decline_reason.label("reason"), func.count())
        .select_from(joined)
        .where(*offer_scope, routed, status == OfferStatus.DECLINED)
        .group_by(*grouped(okey), offers.c.decline_reason)
    ):
        row(r.key).declined_by[r.reason or "none"] = r[2]

    accept_times = (
        select(
            okey,
            seconds_between(dialect, offers.c.responded_at, offers.c.delivered_at).label("value"),
        )
        .select_from(joined)
        .where(
            *offer_scope,
            routed,
            status == OfferStatus.ACCEPTED,
            offers.c.delivered_at.is_not(None),
            offers.c.responded_at.is_not(None),
        )
        .subquery()
    )
    for r in await uow.execute(_percentiles(accept_times, dialect)):
        f = row(r.key)
        f.accept_p50, f.accept_p90 = _float(r.p50), _float(r.p90)

    lead_where = [*lead_scope] + ([leads.c.partner_id.is_not(None)] if by == "partner" else [])
    open_ = leads.c.status == DispatchStatus.ACCEPTED
    for r in await uow.execute(
        select(
            lkey,
            func.count().label("leads"),
            _count(leads.c.contacted_at.is_not(None)).label("contacted"),
            _count(leads.c.qualified_at.is_not(None)).label("qualified"),
            _count(leads.c.opportunity_at.is_not(None)).label("opportunity"),
            _count(leads.c.stage == Stage.WON).label("won"),
            _count(leads.c.stage == Stage.LOST).label("lost"),
            func.coalesce(
                func.sum(case((leads.c.stage == Stage.WON, leads.c.stage_value), else_=0)), 0
            ).label("revenue"),
            _count(open_).label("open"),
            _count(and_(open_, leads.c.nudged_at.is_not(None))).label("stale"),
            _count(leads.c.status == DispatchStatus.UNASSIGNED).label("unassigned"),
        )
        .where(*lead_where)
        .group_by(*grouped(lkey))
    ):
        f = row(r.key)
        f.leads, f.contacted, f.qualified = r.leads, r.contacted, r.qualified
        f.opportunity, f.won, f.lost = r.opportunity, r.won, r.lost
        f.revenue, f.open, f.stale, f.unassigned = float(r.revenue), r.open, r.stale, r.unassigned

    for r in await uow.execute(
        select(lkey, leads.c.lost_reason.label("reason"), func.count())
        .where(*lead_where, leads.c.stage == Stage.LOST)
        .group_by(*grouped(lkey), leads.c.lost_reason)
    ):
        row(r.key).lost_by[r.reason or "none"] = r[2]

    contact_times = (
        select(
            lkey, seconds_between(dialect, leads.c.contacted_at, leads.c.received_at).label("value")
        )
        .where(*lead_where, leads.c.contacted_at.is_not(None))
        .subquery()
    )
    for r in await uow.execute(_percentiles(contact_times, dialect)):
        f = row(r.key)
        f.contact_p50, f.contact_p90 = _float(r.p50), _float(r.p90)

    if by == "partner":
        names = await uow.partners.list_names()
        for pid, f in rows.items():
            f.key, f.name = names.get(pid, (str(pid), f"partner #{pid}"))
    if costs and by == "source":
        for f in rows.values():
            if f.key in costs:
                f.cost = costs[f.key] * f.leads
    elif costs and by == ALL and ALL in rows:
        rows[ALL].cost = sum(await _costs_by_source(uow, period, costs))
    return sorted(rows.values(), key=lambda f: (-f.offered - f.leads, f.key))


async def _costs_by_source(uow: UnitOfWork, period: Period, costs: dict[str, float]) -> list[float]:
    stmt = (
        select(leads.c.source, func.count())
        .where(_cohort(period), leads.c.source.in_(list(costs)))
        .group_by(leads.c.source)
    )
    return [costs[source] * n for source, n in await uow.execute(stmt)]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def reasons(counts: dict[str, int]) -> str:
    """'not_my_area 3, spam 1' (largest first)."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k} {v}" for k, v in ordered) or "-"
