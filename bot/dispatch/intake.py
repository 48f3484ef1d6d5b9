"""intake_lead: store a new lead exactly once."""

from __future__ import annotations

import secrets
from dataclasses import replace

from bot.dispatch.context import Context
from bot.dispatch.events_out import emit
from bot.domain.actors import Actor, Source
from bot.domain.events import EventKind
from bot.domain.leads import Lead, NewLead
from bot.domain.partners import normalize_postcode
from bot.store.uow import UnitOfWork

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


async def locate(
    uow: UnitOfWork, ctx: Context, country: str, postcode: str
) -> tuple[float, float] | None:
    """The postcode's centroid: the bundled US data first, then imported GeoNames centroids."""
    return ctx.geocoder.locate(country, postcode) or await uow.geo.locate(country, postcode)


def new_public_id() -> str:
    return "L" + "".join(secrets.choice(_ALPHABET) for _ in range(7))


async def intake_lead(
    uow: UnitOfWork, ctx: Context, lead: NewLead, *, actor: Actor, source: Source
) -> tuple[Lead, bool]:
    """Store `lead` and commit; a repeat of (source, external_id) returns the first one, False."""
    version, _policy = await ctx.policies.current(uow)
    lead = replace(lead, country=lead.country.upper(), postcode=normalize_postcode(lead.postcode))
    if lead.lat is None or lead.lon is None:
        where = await locate(uow, ctx, lead.country, lead.postcode)
        if where is not None:
            lead = replace(lead, lat=where[0], lon=where[1])
    now = ctx.now()
    lead_id = await uow.leads.insert(
        lead, public_id=new_public_id(), policy_version=version, now=now
    )
    if lead_id is None:
        assert lead.external_id is not None
        existing = await uow.leads.get_by_external_id(
            source=lead.source, external_id=lead.external_id
        )
        assert existing is not None
        return existing, False
    await uow.events.append(
        lead_id,
        EventKind.RECEIVED,
        actor=actor,
        source=source,
        at=now,
        origin=lead.source,
        external_id=lead.external_id,
    )
    stored = await uow.leads.get(lead_id)
    assert stored is not None
    await emit(uow, ctx, "lead.created", lead=stored)
    uow.after_commit(lambda: ctx.observe.lead_received(stored.source))
    await uow.commit()
    return stored, True
