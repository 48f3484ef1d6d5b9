"""A person's home page in the chat (Slack's App Home tab), as a neutral view-model.

A partner's member sees the partner's open offers (with Accept / Decline), its accepted leads
waiting for an update (with the stage buttons), and this month's funnel. A manager sees what is
waiting, how the partners stand, broken chats and this month's funnel of everyone. Someone not
linked sees how to link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from bot.cards import NO_CONSENT, area, stage_buttons
from bot.dispatch.context import Context
from bot.domain.actors import Actor
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferStatus
from bot.domain.periods import parse_period
from bot.messaging import Button, Report
from bot.reports.funnel import Funnel, funnel, funnel_all
from bot.reports.funnel_view import minutes, pct
from bot.reports.overview import count_waiting, standings, waiting
from bot.store.leads import to_lead
from bot.store.tables import leads, offers
from bot.store.uow import UnitOfWork

SHOWN = 10  # entries per section; the rest are counted


@dataclass(frozen=True)
class HomeEntry:
    title: str
    lines: list[str] = field(default_factory=list)
    deadline: datetime | None = None
    buttons: list[Button] = field(default_factory=list)


@dataclass(frozen=True)
class HomeSection:
    heading: str
    entries: list[HomeEntry]
    empty: str
    more: int = 0  # entries not shown


@dataclass(frozen=True)
class Home:
    title: str
    intro: list[str] = field(default_factory=list)
    sections: list[HomeSection] = field(default_factory=list)
    tables: list[Report] = field(default_factory=list)


NOT_LINKED = Home(
    title="Leadbot",
    intro=[
        "Your Slack account is not linked to anyone in Leadbot yet.",
        "Ask your Leadbot manager for a link code (they run `leadbot members invite NAME`), "
        "then type `/lead link CODE` in any channel.",
    ],
)


async def home_view(uow: UnitOfWork, ctx: Context, *, actor: Actor | None) -> Home:
    """What `actor`'s home page shows now."""
    if actor is None:
        return NOT_LINKED
    if actor.is_manager:
        return await _managers(uow, ctx, actor)
    if actor.partner_id is None:
        return NOT_LINKED
    return await _partner(uow, ctx, actor, actor.partner_id)


async def _partner(uow: UnitOfWork, ctx: Context, actor: Actor, partner_id: int) -> Home:
    name = await uow.partners.get_name(partner_id)
    return Home(
        title=f"Leadbot for {name}",
        intro=[f"Hello {actor.name}. New leads also arrive in your team's channel."],
        sections=[await _open_offers(uow, partner_id), await _to_update(uow, partner_id)],
        tables=[await _month(uow, ctx, partner_id)],
    )


async def _open_offers(uow: UnitOfWork, partner_id: int) -> HomeSection:
    where = (offers.c.partner_id == partner_id, offers.c.status == OfferStatus.PENDING)
    total = (await uow.execute(select(func.count()).select_from(offers).where(*where))).scalar()
    stmt = (
        select(leads, offers.c.id.label("offer_id"), offers.c.expires_at.label("offer_expires"))
        .join(offers, offers.c.lead_id == leads.c.id)
        .where(*where)
        .order_by(offers.c.created_at)
        .limit(SHOWN)
    )
    entries = []
    for row in await uow.execute(stmt):
        lead = to_lead(row)
        needs = ", ".join(lead.specialties) or "-"
        entries.append(
            HomeEntry(
                title=f"Lead {lead.public_id}: {area(lead)}",
                lines=[f"Needs: {needs}"] + ([f"Request: {lead.need[:200]}"] if lead.need else []),
                deadline=row.offer_expires,
                buttons=[
                    Button("Accept", f"o:{row.offer_id}:a", "primary"),
                    Button("Decline", f"o:{row.offer_id}:d", "danger"),
                ],
            )
        )
    more = int(total or 0) - len(entries)
    return HomeSection(f"Open offers ({total})", entries, "No offer is waiting for you.", more)


async def _to_update(uow: UnitOfWork, partner_id: int) -> HomeSection:
    where = (leads.c.partner_id == partner_id, leads.c.status == DispatchStatus.ACCEPTED)
    total = (await uow.execute(select(func.count()).select_from(leads).where(*where))).scalar()
    stmt = select(leads).where(*where).order_by(leads.c.stage_changed_at, leads.c.id).limit(SHOWN)
    entries = []
    for row in await uow.execute(stmt):
        lead = to_lead(row)
        contact = await uow.leads.get_contact(lead.id)
        reach = " · ".join(x for x in (contact.name, contact.phone, contact.email) if x)
        if contact.consent is False:
            reach = NO_CONSENT
        changed = row.stage_changed_at
        entries.append(
            HomeEntry(
                title=f"Lead {lead.public_id}: {area(lead)} · {lead.stage.value}",
                lines=([reach] if reach else [])
                + ([f"Last update {changed:%Y-%m-%d %H:%M} UTC"] if changed else []),
                buttons=stage_buttons(lead),
            )
        )
    return HomeSection(
        f"Waiting for your update ({total})",
        entries,
        "Every lead you took is up to date.",
        int(total or 0) - len(entries),
    )


def _month_label(ctx: Context) -> str:
    return ctx.now().strftime("%Y-%m")


async def _month(uow: UnitOfWork, ctx: Context, partner_id: int) -> Report:
    period = parse_period(_month_label(ctx), now=ctx.now())
    slug = (await uow.partners.list_names()).get(partner_id, ("", ""))[0]
    found = await funnel(uow, period, partner=slug)
    f = found[0] if found else Funnel(key=slug, name=slug)
    return Report(
        title=f"This month ({period.label})",
        rows=[
            ["offered", str(f.offered)],
            ["accepted", f"{f.accepted} ({pct(f.acceptance_rate)})"],
            ["median time to accept", minutes(f.accept_p50)],
            ["contacted / qualified", f"{f.contacted} / {f.qualified}"],
            ["won", f"{f.won}, {f.revenue:,.0f} revenue"],
            ["lost", str(f.lost)],
        ],
    )


async def _managers(uow: UnitOfWork, ctx: Context, actor: Actor) -> Home:
    now = ctx.now()
    items = await waiting(uow, partner_id=None, limit=SHOWN)
    in_all = await count_waiting(uow, partner_id=None)
    entries = [
        HomeEntry(
            title=f"Lead {w.lead}: {w.what}",
            lines=[f"{w.postcode}, waiting {minutes((now - w.since).total_seconds())}"],
        )
        for w in items
    ]
    sections = [HomeSection("Waiting", entries, "Nothing is waiting.", in_all - len(entries))]
    broken = await uow.partners.list_broken()
    if broken:
        sections.append(
            HomeSection(
                f"Broken chats ({len(broken)})",
                [HomeEntry(f"{who}: {kind} {chat}", [why]) for who, kind, chat, why in broken],
                "",
            )
        )
    stand = await standings(uow, now=now)
    period = parse_period(_month_label(ctx), now=now)
    everyone, total = await funnel_all(uow, period)
    partners = Report(
        title="Partners",
        header=["partner", "status", "open/capacity"],
        rows=[[s.slug, s.status, f"{s.open_leads}/{s.capacity}"] for s in stand],
    )
    month = Report(
        title=f"This month ({period.label}): {total.leads} leads, {total.unassigned} unassigned",
        header=["partner", "offered", "accept", "won", "revenue"],
        rows=[
            [key, str(f.offered), pct(f.acceptance_rate), str(f.won), f"{f.revenue:,.0f}"]
            for key, f in [("all", total), *((f.key, f) for f in everyone)]
        ],
    )
    return Home(
        title="Leadbot: managers' overview",
        intro=[f"Hello {actor.name}. Every command: `/lead help`."],
        sections=sections,
        tables=[partners, month],
    )
