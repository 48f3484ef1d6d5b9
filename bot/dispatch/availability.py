"""pause_partner, resume_partner, set_capacity: a partner's availability, changed from the chat.

Managers act for any partner; a partner's admins for their own. Routing reads these columns
fresh for every decision, so a change applies to the next lead. (A later `leadbot config apply`
sets them back to what leadbot.yaml says.)
"""

from __future__ import annotations

import logging
from datetime import date

from bot.dispatch.context import Context
from bot.domain.actors import Actor, Role
from bot.domain.offers import Outcome
from bot.domain.partners import PartnerStatus
from bot.routing.directory import start_of
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_CAPACITY = 10_000


async def _target(uow: UnitOfWork, slug: str, actor: Actor) -> tuple[int, str] | Outcome:
    found = await uow.partners.get_by_slug(slug)
    if found is None or found[2] is PartnerStatus.RETIRED:
        return Outcome.refused(f"There is no partner '{slug}'.")
    partner_id, name, _status = found
    if not actor.is_manager and not (
        actor.role is Role.PARTNER_ADMIN and actor.partner_id == partner_id
    ):
        return Outcome.refused(f"Not for you: only managers and {name}'s admins can change this.")
    return partner_id, name


async def pause_partner(
    uow: UnitOfWork, ctx: Context, *, slug: str, actor: Actor, until: date | None = None
) -> Outcome:
    """Stop offering leads to the partner, for good or until the start of the day `until` in
    its own time zone (as `paused_until` in leadbot.yaml)."""
    target = await _target(uow, slug, actor)
    if isinstance(target, Outcome):
        return target
    partner_id, name = target
    if until is None:
        await uow.partners.update(partner_id, status=PartnerStatus.PAUSED, paused_until=None)
        when = "someone resumes it"
    else:
        facts = (await ctx.policies.directory(uow)).partners.get(partner_id)
        back = start_of(until, facts.timezone if facts is not None else "UTC")
        if back <= ctx.now():
            return Outcome.refused("That date is in the past.")
        await uow.partners.update(partner_id, status=PartnerStatus.ACTIVE, paused_until=back)
        when = f"{back:%Y-%m-%d %H:%M} ({back.tzname()})"
    await uow.commit()
    log.info("%s paused %s until %s", actor.label, slug, when)
    return Outcome.done(f"{name} gets no new leads until {when}.")


async def resume_partner(uow: UnitOfWork, ctx: Context, *, slug: str, actor: Actor) -> Outcome:
    target = await _target(uow, slug, actor)
    if isinstance(target, Outcome):
        return target
    partner_id, name = target
    await uow.partners.update(partner_id, status=PartnerStatus.ACTIVE, paused_until=None)
    await uow.commit()
    log.info("%s resumed %s", actor.label, slug)
    return Outcome.done(f"{name} gets leads again.")


async def set_capacity(
    uow: UnitOfWork, ctx: Context, *, slug: str, capacity: int, actor: Actor
) -> Outcome:
    """How many accepted, not yet closed leads the partner may hold at once."""
    target = await _target(uow, slug, actor)
    if isinstance(target, Outcome):
        return target
    if not 0 <= capacity <= MAX_CAPACITY:
        return Outcome.refused(f"Capacity must be between 0 and {MAX_CAPACITY}.")
    partner_id, name = target
    await uow.partners.update(partner_id, capacity=capacity)
    await uow.commit()
    log.info("%s set the capacity of %s to %d", actor.label, slug, capacity)
    return Outcome.done(f"{name} may now hold {capacity} open leads.")
