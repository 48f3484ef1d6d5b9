"""What the database holds, for bad-input tests: a snapshot to compare before and after
something that must change nothing, and the invariants of a whole lead."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from bot.bootstrap import Services
from bot.store.tables import metadata

SKIP = {"send_pacing", "alembic_version"}  # timing state, not content


async def snapshot(services: Services) -> dict[str, Any]:
    """Every table's rows (minus timing state), as comparable data."""
    state: dict[str, Any] = {}
    async with services.uow() as uow:
        for table in metadata.sorted_tables:
            if table.name in SKIP:
                continue
            rows = (await uow.execute(select(table))).mappings().all()
            state[table.name] = sorted(repr(sorted(dict(r).items())) for r in rows)
    return state


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{table: (rows gone, rows new)} of the tables that differ."""
    out = {}
    for name in before.keys() | after.keys():
        old, new = Counter(before.get(name, [])), Counter(after.get(name, []))
        if old != new:
            out[name] = (list((old - new).elements()), list((new - old).elements()))
    return out


async def broken_leads(services: Services) -> list[str]:
    """Every way a stored lead is not whole; [] when all are."""
    t = metadata.tables
    leads, contacts, events, offers = (
        t["leads"],
        t["lead_contacts"],
        t["lead_events"],
        t["offers"],
    )
    problems: list[str] = []
    async with services.uow() as uow:
        rows = (await uow.execute(select(leads))).mappings().all()
        has_contact = set((await uow.execute(select(contacts.c.lead_id))).scalars())
        received = Counter(
            (
                await uow.execute(select(events.c.lead_id).where(events.c.kind == "received"))
            ).scalars()
        )
        by_lead: dict[int, Counter[str]] = {}
        for lead_id, status in await uow.execute(select(offers.c.lead_id, offers.c.status)):
            by_lead.setdefault(lead_id, Counter())[status] += 1
        stage_events = dict(
            (
                await uow.execute(
                    select(events.c.lead_id, func.count())
                    .where(events.c.kind == "stage_changed")
                    .group_by(events.c.lead_id)
                )
            ).all()
        )
    for lead in rows:
        lid, status, stage = lead["id"], lead["status"], lead["stage"]
        offered = by_lead.get(lid, Counter())
        if lid not in has_contact:
            problems.append(f"lead {lid}: no contact row")
        if received[lid] != 1:
            problems.append(f"lead {lid}: {received[lid]} 'received' events")
        if (status == "offered") != (offered["pending"] > 0):
            problems.append(f"lead {lid}: status {status} with {offered['pending']} pending offers")
        if status in ("accepted", "closed") and (
            lead["partner_id"] is None or offered["accepted"] != 1
        ):
            problems.append(f"lead {lid}: {status} without one accepted offer and a partner")
        if offered["accepted"] > 1:
            problems.append(f"lead {lid}: {offered['accepted']} accepted offers")
        moved = stage not in ("none", "accepted")
        if moved and (status not in ("accepted", "closed") or not stage_events.get(lid)):
            problems.append(f"lead {lid}: {status} at stage {stage} without a stage_changed event")
    return problems
