"""Routing questions a manager asks: why did this lead go there, who covers this postcode."""

from __future__ import annotations

from typing import Any

from bot.dispatch.context import Context
from bot.dispatch.deciding import decide, routing_options
from bot.dispatch.intake import locate
from bot.domain.partners import normalize_postcode
from bot.routing.policy import Decision, LeadFacts
from bot.store.uow import UnitOfWork


async def get_explanation(uow: UnitOfWork, ref: str) -> tuple[str, list[dict[str, Any]]] | None:
    """(public id, every routing decision made for the lead) or None."""
    lead = await uow.leads.get_by_public_id(ref)
    if lead is None:
        return None
    return lead.public_id, await uow.leads.get_explanation(lead.id)


def format_explanation(public_id: str, decisions: list[dict[str, Any]]) -> list[str]:
    """The `why` answer: per round, who was chosen and why, and what dropped the others."""
    if not decisions:
        return [f"Lead {public_id} has not been routed yet."]
    lines = []
    for d in decisions:
        chosen = ", ".join(d["chosen"]) or "nobody"
        lines.append(f"Round {d['round']}: offered to {chosen}")
        for slug, why in d.get("why", {}).items():
            lines.append(f"  {slug}: {why}")
        for c in d["considered"]:
            if c["filter"]:
                lines.append(f"  {c['partner']} dropped by {c['filter']}: {c['reason']}")
        if d.get("outside_territory"):
            lines.append(f"  {d['outside_territory']} other partners do not cover the area")
        for note in d.get("notes", []):
            lines.append(f"  note: {note}")
        if d.get("hold_until"):
            lines.append(f"  held until {d['hold_until']}: every candidate was closed")
    return lines


async def who_covers(
    uow: UnitOfWork, ctx: Context, *, country: str, postcode: str, specialty: str | None = None
) -> Decision:
    """Every partner covering the postcode, in the order routing would offer it now."""
    country, postcode = country.upper(), normalize_postcode(postcode)
    where = await locate(uow, ctx, country, postcode)
    facts = LeadFacts(
        country,
        postcode,
        (specialty,) if specialty else (),
        where[0] if where else None,
        where[1] if where else None,
    )
    version, policy = await ctx.policies.current(uow)
    directory = await ctx.policies.directory(uow, at_least=version)
    return await decide(
        uow,
        ctx,
        facts,
        exclude=set(),
        count=len(directory.partners),
        options=routing_options(policy),
        lock=False,
        version=version,
    )


def format_coverage(decision: Decision) -> list[str]:
    """The `who` answer: ranked partners first, then those dropped with the filter named."""
    lines = [
        f"{rank}. {p.slug} — {decision.why[p.id]}"
        for rank, p in enumerate(decision.chosen, start=1)
    ]
    lines += [
        f"-  {v.partner.slug} dropped by {v.dropped_by}: {v.reason}"
        for v in decision.verdicts
        if v.dropped_by
    ]
    return lines or ["Nobody covers it."]
