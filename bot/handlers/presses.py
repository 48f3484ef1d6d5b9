"""Button presses, for every chat platform: decode the short opaque value, ask for what is
missing (a decline reason, a value, a lost reason), call the use case.

Values: `o:<offer>:a|d` accept/decline, `l:<lead>:<stage code>` funnel stage,
`a:<lead>:<partner id>` a manager assigns, `r:<lead>` a manager takes a lead back.
Every use case checks who is pressing; a stranger (not linked) changes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable
from dataclasses import dataclass

from bot.bootstrap import Services
from bot.cards import STAGE_CODES
from bot.dispatch import accept_offer, assign_lead, decline_offer, set_stage
from bot.dispatch.answers import too_late
from bot.dispatch.reassign import reassign_lead
from bot.dispatch.redraw import redraw_cards
from bot.domain.actors import Actor, Source
from bot.domain.amounts import parse_amount
from bot.domain.errors import InvalidInput
from bot.domain.leads import DispatchStatus, Stage, check_stage_move
from bot.domain.offers import OfferStatus, Outcome
from bot.store.outage import database_unavailable
from bot.store.tables import row_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """The press needs one more answer: a choice among `choices`, or a number when empty."""

    title: str
    label: str
    value: str  # the button value, to carry through the form
    choices: list[str]


UNKNOWN = Outcome.refused("This button is not one of ours any more.")
NOT_LINKED = Outcome.refused(
    "Not for you: this chat account is not linked to anyone. Ask a manager for a link code."
)


DATABASE_AWAY = Outcome.refused(
    "Leadbot cannot reach its database right now, so this press may not have counted. "
    "Please press again in a minute."
)


async def guarded(work: Awaitable[Outcome | Ask]) -> Outcome | Ask:
    """`work`, or a clear "press again" while the database is away (never silence)."""
    try:
        return await work
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        log.warning("a press failed: the database is unavailable (%s)", type(exc).__name__)
        return DATABASE_AWAY


def _ints(parts: list[str]) -> list[int] | None:
    """The row ids a button value carries; None unless each is one (a forged value with an id
    past the column's range would fail binding on PostgreSQL)."""
    ids = [row_id(p) for p in parts]
    return None if None in ids else [i for i in ids if i is not None]


async def press(
    services: Services,
    actor: Actor | None,
    value: str,
    *,
    source: Source,
    answer: str | None = None,
) -> Outcome | Ask:
    """What pressing the button `value` does; `answer` is the form's answer, if one was asked."""
    kind, _, rest = value.partition(":")
    parts = rest.split(":")
    if actor is None:
        return NOT_LINKED
    if kind == "o" and len(parts) == 2 and (ids := _ints(parts[:1])):
        offer_id, verb = ids[0], parts[1]
        if verb == "a":
            return await services.run(accept_offer, offer_id=offer_id, actor=actor, source=source)
        if verb == "d":
            if answer is None:
                return await _ask_decline(services, actor, offer_id, value)
            return await services.run(
                decline_offer, offer_id=offer_id, actor=actor, reason=answer, source=source
            )
    if kind == "l" and len(parts) == 2 and (ids := _ints(parts[:1])) and parts[1] in STAGE_CODES:
        stage = STAGE_CODES[parts[1]]
        return await _stage(services, actor, ids[0], stage, value, answer, source)
    if kind == "a" and (ids := _ints(parts)) and len(ids) == 2:
        async with services.uow() as uow:
            names = await uow.partners.list_names()
        slug = names.get(ids[1], ("", ""))[0]
        return await services.run(
            assign_lead, lead_id=ids[0], partner_slug=slug, actor=actor, source=source
        )
    if kind == "r" and (ids := _ints(parts)) and len(ids) in (1, 2):  # 1: before the holder
        return await services.run(
            reassign_lead,
            lead_id=ids[0],
            actor=actor,
            source=source,
            from_partner=ids[1] if len(ids) == 2 else None,
        )
    return UNKNOWN


async def _ask_decline(
    services: Services, actor: Actor, offer_id: int, value: str
) -> Outcome | Ask:
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
        lead = await uow.leads.get(offer.lead_id) if offer else None
        if offer is None or lead is None:
            return UNKNOWN
        if not actor.may_act_for(offer.partner_id):  # before asking anything
            return Outcome.refused("Not for you: this lead was offered to another partner.")
        if offer.status is not OfferStatus.PENDING:  # a late press: say what happened instead
            return await too_late(uow, offer)
        policy = await services.ctx.policies.get(uow, lead.policy_version)
    return Ask(f"Decline lead {lead.public_id}", "Why?", value, list(policy.decline_reasons))


async def _stage(
    services: Services,
    actor: Actor,
    lead_id: int,
    stage: Stage,
    value: str,
    answer: str | None,
    source: Source,
) -> Outcome | Ask:
    needs_value = stage in (Stage.OPPORTUNITY, Stage.WON)
    if answer is None and (needs_value or stage is Stage.LOST):
        async with services.uow() as uow:
            lead = await uow.leads.get(lead_id)
            if lead is None:
                return UNKNOWN
            if lead.partner_id is None or not actor.may_act_for(lead.partner_id):
                return Outcome.refused("Not for you: only the partner that took this lead can.")
            policy = await services.ctx.policies.get(uow, lead.policy_version)
        if lead.status not in (DispatchStatus.ACCEPTED, DispatchStatus.CLOSED):
            return Outcome.refused(f"Lead {lead.public_id} is not with a partner any more.")
        try:  # a move that cannot be made is refused now, not after the question
            reason = policy.lost_reasons[0] if policy.lost_reasons else None
            check_stage_move(
                lead.stage, stage, may_go_back=actor.is_manager, value=0.0, reason=reason,
                lost_reasons=list(policy.lost_reasons),
            )  # fmt: skip
        except InvalidInput as exc:
            return Outcome.refused(str(exc).capitalize() + ".")
        if needs_value:
            return Ask(f"Lead {lead.public_id}: {stage}", "Value (EUR)", value, [])
        return Ask(f"Lead {lead.public_id}: lost", "Why?", value, list(policy.lost_reasons))
    amount: float | None = None
    if needs_value:
        amount = parse_amount(answer or "")  # 18.000 and 18,000 are both eighteen thousand
        if amount is None or not math.isfinite(amount) or not 0 <= amount <= 1e12:
            return Outcome.refused(f"'{(answer or '')[:20]}' is not an amount.")
    return await services.run(
        set_stage,
        lead_id=lead_id,
        stage=stage,
        actor=actor,
        source=source,
        value=amount,
        reason=answer if stage is Stage.LOST else None,
    )


async def back(services: Services, actor: Actor | None, value: str) -> Outcome | None:
    """« Back on a question's choices (a decline or lost reason): the card gets its own buttons
    again, for someone who may answer it (None); anyone else is told why not."""
    kind, _, rest = value.partition(":")
    if not ((kind == "o" and rest.endswith(":d")) or (kind == "l" and rest.endswith(":l"))):
        return UNKNOWN  # only those questions have a Back
    asked = await press(services, actor, value, source=Source.SYSTEM)  # asks, changes nothing
    if not isinstance(asked, Ask):
        return asked
    await redraw(services, value)
    return None


async def redraw(services: Services, value: str) -> None:
    """Put the card a button belongs to back as it stands."""
    kind, _, rest = value.partition(":")
    ids = _ints(rest.split(":")[:1])
    if ids and kind == "o":
        await services.run(redraw_cards, offer_id=ids[0])
    elif ids and kind == "l":
        await services.run(redraw_cards, lead_id=ids[0])
