"""set_stage: the partner reports progress on a lead it has taken."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal

from bot.dispatch.common import queue_card_edits
from bot.dispatch.context import Context
from bot.dispatch.events_out import emit
from bot.domain.actors import Actor, Source
from bot.domain.errors import InvalidInput
from bot.domain.events import EventKind
from bot.domain.leads import (
    CLOSING_STAGES,
    DispatchStatus,
    Stage,
    check_stage_move,
    milestones_reached,
)
from bot.domain.offers import OfferStatus, Outcome
from bot.store.tables import leads
from bot.store.uow import UnitOfWork


async def set_stage(
    uow: UnitOfWork,
    ctx: Context,
    *,
    lead_id: int,
    stage: Stage,
    actor: Actor,
    source: Source,
    value: float | None = None,
    reason: str | None = None,
) -> Outcome:
    """Move an accepted lead forward in the funnel (managers may also move it back)."""
    lead = await uow.leads.lock(lead_id)
    if lead is None:
        return Outcome.refused("This lead does not exist.")
    if (
        lead.status not in (DispatchStatus.ACCEPTED, DispatchStatus.CLOSED)
        or lead.partner_id is None
    ):
        return Outcome.refused(f"Lead {lead.public_id} has not been accepted by a partner yet.")
    if not actor.may_act_for(lead.partner_id):
        return Outcome.refused("Not for you: only the partner that took this lead can update it.")
    policy = await ctx.policies.get(uow, lead.policy_version)
    try:
        check_stage_move(
            lead.stage,
            stage,
            may_go_back=actor.is_manager,
            value=value,
            reason=reason,
            lost_reasons=policy.lost_reasons,
        )
    except InvalidInput as exc:
        return Outcome.refused(str(exc).capitalize() + ".", lead.id)
    now = ctx.now()
    status = DispatchStatus.CLOSED if stage in CLOSING_STAGES else DispatchStatus.ACCEPTED
    moved = await uow.leads.cas(
        lead.id,
        expect={"stage": lead.stage},
        now=now,
        stage=stage,
        status=status,
        stage_changed_at=now,
        nudged_at=None,
        stale_alerted_at=None,
        stage_value=value if stage in (Stage.OPPORTUNITY, Stage.WON) else lead.stage_value,
        lost_reason=reason if stage is Stage.LOST else None,
        **{
            m: func.coalesce(leads.c[m], literal(now, leads.c[m].type))
            for m in milestones_reached(stage)
        },
    )
    if not moved:
        return Outcome.refused("The lead changed meanwhile; look at the card and try again.")
    data: dict[str, Any] = {"from": lead.stage, "to": stage, "partner_id": lead.partner_id}
    if value is not None:
        data["value"] = value
    if stage is Stage.LOST:
        data["reason"] = reason
    await uow.events.append(
        lead.id, EventKind.STAGE_CHANGED, actor=actor, source=source, at=now, **data
    )
    await emit(uow, ctx, "lead.stage_changed", lead=lead, **data)
    for offer in await uow.offers.list_for_lead(lead.id):
        if offer.status is OfferStatus.ACCEPTED and offer.partner_id == lead.partner_id:
            await queue_card_edits(uow, ctx, offer.id)
    await uow.commit()
    return Outcome.done(f"Lead {lead.public_id} is now {stage}.", lead.id)
