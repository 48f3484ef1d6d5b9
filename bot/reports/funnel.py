"""A first per-partner funnel, computed in the database with aggregate queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from bot.store.tables import leads, offers, partners
from bot.store.uow import UnitOfWork


@dataclass(frozen=True)
class FunnelRow:
    slug: str
    name: str
    offered: int
    accepted: int
    declined: int
    expired: int
    undeliverable: int
    won: int
    lost: int
    revenue: float

    @property
    def acceptance_rate(self) -> float | None:
        answered = self.offered - self.undeliverable
        return self.accepted / answered if answered else None


def _count(column: ColumnElement[Any], value: str) -> ColumnElement[Any]:
    return func.sum(case((column == value, 1), else_=0))


async def partner_funnel(uow: UnitOfWork) -> list[FunnelRow]:
    """Offers and outcomes per partner over all leads (periods come with the reports issue)."""
    o = (
        select(
            offers.c.partner_id,
            func.count().label("offered"),
            _count(offers.c.status, "accepted").label("accepted"),
            _count(offers.c.status, "declined").label("declined"),
            _count(offers.c.status, "expired").label("expired"),
            _count(offers.c.status, "undeliverable").label("undeliverable"),
        )
        .group_by(offers.c.partner_id)
        .subquery()
    )
    lv = (
        select(
            leads.c.partner_id,
            _count(leads.c.stage, "won").label("won"),
            _count(leads.c.stage, "lost").label("lost"),
            func.sum(case((leads.c.stage == "won", leads.c.stage_value), else_=0)).label("revenue"),
        )
        .where(leads.c.partner_id.is_not(None))
        .group_by(leads.c.partner_id)
        .subquery()
    )
    stmt = (
        select(partners.c.slug, partners.c.name, o, lv.c.won, lv.c.lost, lv.c.revenue)
        .join(o, o.c.partner_id == partners.c.id)
        .outerjoin(lv, lv.c.partner_id == partners.c.id)
        .order_by(partners.c.slug)
    )
    rows = []
    for r in await uow.execute(stmt):
        rows.append(
            FunnelRow(
                r.slug,
                r.name,
                r.offered,
                r.accepted or 0,
                r.declined or 0,
                r.expired or 0,
                r.undeliverable or 0,
                r.won or 0,
                r.lost or 0,
                float(r.revenue or 0),
            )
        )
    return rows
