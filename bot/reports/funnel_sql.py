"""The funnel's raw aggregates, read from leads and offers for some spans of `received_at`, in
the shape of the rollup tables: one row per (day received, partner, source).

The rollup (bot/reports/rollup.py) stores these rows per day; a report adds the stored days to
the same rows computed live for the hours at the edges of its period. One definition of every
count, so the rollup and the live rows cannot disagree. The definitions themselves are in the
docstring of bot/reports/funnel.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, and_, case, cast, func, literal_column, or_
from sqlalchemy.sql import CompoundSelect, Select, select, union_all

from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import TAKEN_BACK, OfferMode, OfferStatus
from bot.store.tables import leads, offers

Span = tuple[datetime, datetime]  # [start, end) of received_at

OFFER_COUNTS = (
    "offered",
    "accepted",
    "declined",
    "expired",
    "undeliverable",
    "withdrawn",
    "assigned",
)
LEAD_COUNTS = (
    "leads",
    "contacted",
    "qualified",
    "opportunity",
    "won",
    "lost",
    "open",
    "stale",
    "unassigned",
)
COUNTS = OFFER_COUNTS + LEAD_COUNTS
NO_PARTNER = 0  # leads nobody holds are counted under partner 0


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def bucket(seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """A duration rounded to the precision reports show it at (funnel_view.minutes): to the
    second below 10 minutes, the minute below 90 minutes, a tenth of an hour above. Percentiles
    taken over these are the ones shown, and a day's histogram stays small."""

    def n(value: int) -> ColumnElement[Any]:
        return literal_column(str(value))  # not a parameter: the expression is grouped by

    return cast(
        case(
            (seconds < n(600), func.round(seconds)),
            (seconds < n(5400), func.round(seconds / n(60)) * n(60)),
            else_=func.round(seconds / n(360)) * n(360),
        ),
        Integer,
    )


def day_of(dialect: str, moment: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp (stored as naive UTC)."""
    if dialect == "postgresql":
        return cast(moment, Date)
    return func.date(moment)


def _received_in(spans: Sequence[Span]) -> ColumnElement[bool]:
    return or_(*(and_(leads.c.received_at >= a, leads.c.received_at < b) for a, b in spans))


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _zeros(names: Sequence[str]) -> list[ColumnElement[Any]]:
    return [literal_column("0").label(name) for name in names]


# grouped-by expressions hold no bound parameters: PostgreSQL would see two different ones
# in SELECT and GROUP BY and refuse the query
def _reason(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.nullif(column, literal_column("''")), literal_column("'none'"))


def accepted_offer() -> ColumnElement[bool]:
    """An offer its partner accepted (the funnel's and the digest's rule)."""
    # an accept a manager later took back (the offer now reads withdrawn) was still an accept;
    # coalesced: a copy withdrawn for another partner's accept has no reason, and NULL would
    # leave it out of `withdrawn` too
    taken_back = and_(
        offers.c.status == OfferStatus.WITHDRAWN,
        func.coalesce(offers.c.decline_reason, literal_column("''")) == TAKEN_BACK,
    )
    return or_(offers.c.status == OfferStatus.ACCEPTED, taken_back)


def _holder() -> ColumnElement[Any]:
    return func.coalesce(leads.c.partner_id, literal_column(str(NO_PARTNER)))


def counts(dialect: str, spans: Sequence[Span]) -> CompoundSelect[Any]:
    """(day, partner_id, source, *COUNTS, revenue): offers counted under the offered partner,
    leads under the partner holding them. A day and partner can have a row from each side."""
    day = day_of(dialect, leads.c.received_at).label("day")
    routed = offers.c.mode != OfferMode.MANUAL
    status = offers.c.status
    accepted = accepted_offer()
    offer_side = (
        select(
            day,
            offers.c.partner_id.label("partner_id"),
            leads.c.source,
            _count(routed).label("offered"),
            _count(and_(routed, accepted)).label("accepted"),
            _count(and_(routed, status == OfferStatus.DECLINED)).label("declined"),
            _count(and_(routed, status == OfferStatus.EXPIRED)).label("expired"),
            _count(and_(routed, status == OfferStatus.UNDELIVERABLE)).label("undeliverable"),
            _count(and_(routed, status == OfferStatus.WITHDRAWN, ~accepted)).label("withdrawn"),
            _count(offers.c.mode == OfferMode.MANUAL).label("assigned"),
            *_zeros(LEAD_COUNTS),
            literal_column("0.0").label("revenue"),
        )
        .select_from(offers.join(leads, leads.c.id == offers.c.lead_id))
        .where(_received_in(spans))
        .group_by(day, offers.c.partner_id, leads.c.source)
    )
    holder = _holder()
    open_ = leads.c.status == DispatchStatus.ACCEPTED
    lead_side = (
        select(
            day,
            holder.label("partner_id"),
            leads.c.source,
            *_zeros(OFFER_COUNTS),
            func.count().label("leads"),
            _count(leads.c.contacted_at.is_not(None)).label("contacted"),
            _count(leads.c.qualified_at.is_not(None)).label("qualified"),
            _count(leads.c.opportunity_at.is_not(None)).label("opportunity"),
            _count(leads.c.stage == Stage.WON).label("won"),
            _count(leads.c.stage == Stage.LOST).label("lost"),
            _count(open_).label("open"),
            _count(and_(open_, leads.c.nudged_at.is_not(None))).label("stale"),
            _count(leads.c.status == DispatchStatus.UNASSIGNED).label("unassigned"),
            func.coalesce(
                func.sum(case((leads.c.stage == Stage.WON, leads.c.stage_value), else_=0)), 0
            ).label("revenue"),
        )
        .where(_received_in(spans))
        .group_by(day, holder, leads.c.source)
    )
    return union_all(offer_side, lead_side)


def reasons(dialect: str, spans: Sequence[Span]) -> CompoundSelect[Any]:
    """(day, partner_id, source, kind, reason, n): routed offers declined, leads lost."""
    day = day_of(dialect, leads.c.received_at).label("day")
    declined_reason = _reason(offers.c.decline_reason)
    declined = (
        select(
            day,
            offers.c.partner_id.label("partner_id"),
            leads.c.source,
            literal_column("'declined'").label("kind"),
            declined_reason.label("reason"),
            func.count().label("n"),
        )
        .select_from(offers.join(leads, leads.c.id == offers.c.lead_id))
        .where(
            _received_in(spans),
            offers.c.mode != OfferMode.MANUAL,
            offers.c.status == OfferStatus.DECLINED,
        )
        .group_by(day, offers.c.partner_id, leads.c.source, declined_reason)
    )
    holder = _holder()
    lost_reason = _reason(leads.c.lost_reason)
    lost = (
        select(
            day,
            holder.label("partner_id"),
            leads.c.source,
            literal_column("'lost'").label("kind"),
            lost_reason.label("reason"),
            func.count().label("n"),
        )
        .where(_received_in(spans), leads.c.stage == Stage.LOST)
        .group_by(day, holder, leads.c.source, lost_reason)
    )
    return union_all(declined, lost)


def times(dialect: str, spans: Sequence[Span], *, by_source: bool = False) -> CompoundSelect[Any]:
    """(metric, partner_id, seconds, day, n): histograms of time to accept (card delivered ->
    accepted, routed offers) and time to first contact (received -> contacted). `by_source`:
    (metric, partner_id, source, seconds, day, n), the rollup keeping no times per source."""
    day = day_of(dialect, leads.c.received_at).label("day")
    extra = [leads.c.source.label("source")] if by_source else []
    to_accept = bucket(seconds_between(dialect, offers.c.responded_at, offers.c.delivered_at))
    accept: Select[Any] = (
        select(
            literal_column("'accept'").label("metric"),
            offers.c.partner_id.label("partner_id"),
            *extra,
            to_accept.label("seconds"),
            day,
            func.count().label("n"),
        )
        .select_from(offers.join(leads, leads.c.id == offers.c.lead_id))
        .where(
            _received_in(spans),
            offers.c.mode != OfferMode.MANUAL,
            accepted_offer(),
            offers.c.delivered_at.is_not(None),
            offers.c.responded_at.is_not(None),
        )
        .group_by(offers.c.partner_id, *extra, to_accept, day)
    )
    holder = _holder()
    to_contact = bucket(seconds_between(dialect, leads.c.contacted_at, leads.c.received_at))
    contact: Select[Any] = (
        select(
            literal_column("'contact'").label("metric"),
            holder.label("partner_id"),
            *extra,
            to_contact.label("seconds"),
            day,
            func.count().label("n"),
        )
        .where(_received_in(spans), leads.c.contacted_at.is_not(None))
        .group_by(holder, *extra, to_contact, day)
    )
    return union_all(accept, contact)
