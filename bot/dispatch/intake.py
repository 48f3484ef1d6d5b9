"""intake_lead: store a new lead exactly once."""

from __future__ import annotations

import secrets
from dataclasses import replace
from time import monotonic

from bot.dispatch.context import Context
from bot.dispatch.events_out import emit
from bot.dispatch.offering import offer_next
from bot.domain.actors import Actor, Source
from bot.domain.errors import KeyReused
from bot.domain.events import EventKind
from bot.domain.leads import Lead, NewLead
from bot.domain.partners import normalize_postcode
from bot.store.uow import UnitOfWork

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


async def locate(
    uow: UnitOfWork, ctx: Context, country: str, postcode: str
) -> tuple[float, float] | None:
    """The postcode's centroid: the bundled US data first, then imported GeoNames centroids."""
    found = ctx.geocoder.locate(country, postcode)
    if found is not None:
        return found
    known, found = ctx.places.get((country, postcode), monotonic())
    if not known:
        found = await uow.geo.locate(country, postcode)
        ctx.places.put((country, postcode), found, monotonic())
    return found


def new_public_id() -> str:
    return "L" + "".join(secrets.choice(_ALPHABET) for _ in range(7))


async def store_lead(
    uow: UnitOfWork, ctx: Context, lead: NewLead, *, actor: Actor, source: Source
) -> tuple[Lead, bool]:
    """Store `lead` (not committed); a repeat of (source, external_id) returns the first, False.

    KeyReused: the repeat names an Idempotency-Key that came with a different request.
    """
    if not ctx.policies.known():
        await ctx.policies.current(uow)  # says so clearly when no configuration was applied
    lead = replace(lead, country=lead.country.upper(), postcode=normalize_postcode(lead.postcode))
    if lead.lat is None or lead.lon is None:
        where = await locate(uow, ctx, lead.country, lead.postcode)
        if where is not None:
            lead = replace(lead, lat=where[0], lon=where[1])
    now = ctx.now()
    # the lead takes the policy version in force at its insert (no extra round trip)
    stored = await uow.leads.insert(lead, public_id=new_public_id(), now=now)
    if stored is None:
        assert lead.external_id is not None
        found = await uow.leads.get_by_external_id(source=lead.source, external_id=lead.external_id)
        assert found is not None
        existing, digest = found
        if lead.request_digest and digest and digest != lead.request_digest:
            raise KeyReused(existing.public_id)  # the new lead would be lost behind the first
        return existing, False
    ctx.policies.confirm(stored.policy_version)  # no query to check the version in force
    await uow.events.append(
        stored.id,
        EventKind.RECEIVED,
        actor=actor,
        source=source,
        at=now,
        origin=lead.source,
        external_id=lead.external_id,
    )
    await emit(uow, ctx, "lead.created", lead=stored)
    uow.after_commit(lambda: ctx.observe.lead_received(stored.source))
    return stored, True


async def intake_lead(
    uow: UnitOfWork, ctx: Context, lead: NewLead, *, actor: Actor, source: Source
) -> tuple[Lead, bool]:
    """Store `lead` and commit, without routing it (the sweep or the caller routes it)."""
    stored, created = await store_lead(uow, ctx, lead, actor=actor, source=source)
    await uow.commit()
    return stored, created


async def take_lead(
    uow: UnitOfWork, ctx: Context, lead: NewLead, *, actor: Actor, source: Source
) -> tuple[Lead, bool, list[int]]:
    """Store a new lead and make its first offer(s) in one transaction: the fast path.

    Returns (lead, created, offer ids); a repeat is returned as stored, and not routed again.
    """
    stored, created = await store_lead(uow, ctx, lead, actor=actor, source=source)
    offers: list[int] = []
    if created:
        offers = await offer_next(uow, ctx, stored, actor=actor, source=source, fresh=True)
    await uow.commit()
    return stored, created, offers
