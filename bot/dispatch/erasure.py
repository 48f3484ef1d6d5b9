"""erase_person (`leadbot erase`): a person's data out of every lead of theirs; and the step it
shares with retention, taking the data out of one lead and every copy of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.dispatch.context import Context
from bot.domain.actors import Actor, Source
from bot.domain.errors import InvalidInput
from bot.domain.events import EventKind
from bot.domain.leads import DIGEST_ID_PREFIXES, DispatchStatus, Lead
from bot.domain.offers import OfferStatus
from bot.domain.privacy import ErasedBy, Scrubber, normalize_email, phone_to_find, postcode_area
from bot.store.outbox import OutboxKind
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

# cards that show the teaser (pending) or the contact (accepted); closed cards show neither
SHOWING = (OfferStatus.PENDING, OfferStatus.ACCEPTED)


@dataclass(frozen=True)
class Erasure:
    leads: list[str]  # public ids of the leads erased (or, dry run, that would be)
    cards: int  # posted cards edited to drop what they showed of the person
    still_open: list[str]  # of those leads, the ones not finished (offered, with a partner...)


def _blur(degrees: float | None) -> float | None:
    return None if degrees is None else round(degrees, 1)  # about 10 km: the area, not the house


async def redact_lead(
    uow: UnitOfWork,
    ctx: Context,
    lead: Lead,
    *,
    by: ErasedBy,
    actor: Actor,
    source: Source,
    edit_at: Callable[[int], datetime] | None = None,
    dry_run: bool = False,
) -> int:
    """Take the person's data out of one lead (locked by the caller) and out of every copy
    Leadbot holds; queue edits of the posted cards that showed any of it (at `edit_at(chat)`
    when given). Stages, offers and counts stay. Returns how many cards are edited."""
    contact = await uow.leads.get_contact(lead.id)
    offers = await uow.offers.list_for_lead(lead.id)
    cards = [
        (offer.id, message_id, destination_id)
        for offer in offers
        if offer.status in SHOWING and (contact.values() or lead.need)
        for message_id, destination_id in await uow.offers.list_messages(offer.id)
    ]
    if dry_run:
        return len(cards)
    now = ctx.now()
    scrub = Scrubber(contact.values(), postcode=lead.postcode)
    await uow.events.flush()  # events appended in this transaction are scrubbed too
    await uow.privacy.erase_contact(lead.id, now=now, by=by)
    await uow.privacy.scrub_copies(lead.id, [o.id for o in offers], scrub)
    external_id = lead.external_id  # a CRM's own id stays; one made of the person's data goes
    if scrub.holds(external_id) or (external_id or "").startswith(DIGEST_ID_PREFIXES):
        external_id = f"erased:{lead.public_id}"
    await uow.leads.cas(
        lead.id,
        expect={},
        now=now,
        need=None,  # free text the person wrote
        postcode=postcode_area(lead.postcode),
        lat=_blur(lead.lat),
        lon=_blur(lead.lon),
        external_id=external_id,
    )
    await uow.events.append(
        lead.id, EventKind.ERASED, actor=actor, source=source, at=now, by=by, cards=len(cards)
    )
    for offer_id, message_id, destination_id in cards:
        await uow.outbox.enqueue(
            OutboxKind.UPDATE,
            now=now,
            offer_id=offer_id,
            offer_message_id=message_id,
            destination_id=destination_id,
            not_before=edit_at(destination_id) if edit_at else None,
        )
    if cards:
        uow.after_commit(ctx.hooks.poke)
    return len(cards)


async def erase_person(
    uow: UnitOfWork,
    ctx: Context,
    *,
    email: str | None = None,
    phone: str | None = None,
    actor: Actor,
    source: Source,
    dry_run: bool = False,
) -> Erasure:
    """Erase the contact of every lead with this e-mail address or phone number (exactly one
    of them), and every copy of it; with `dry_run`, only say what would go."""
    if (email is None) == (phone is None):
        raise InvalidInput("give exactly one of an e-mail address or a phone number")
    if email is not None:
        found = await uow.privacy.find_by_email(normalize_email(email))
    else:
        assert phone is not None
        found = await uow.privacy.find_by_phone(phone_to_find(phone))
    erased, still_open, cards = [], [], 0
    for lead_id in found:  # in id order, as every lock is taken
        lead = await uow.leads.lock(lead_id)
        if lead is None:
            continue
        log.debug("erase: lead %s%s", lead.public_id, " (dry run)" if dry_run else "")
        cards += await redact_lead(
            uow, ctx, lead, by=ErasedBy.REQUEST, actor=actor, source=source, dry_run=dry_run
        )
        erased.append(lead.public_id)
        if lead.status is not DispatchStatus.CLOSED:
            still_open.append(lead.public_id)
    if erased and not dry_run:
        await uow.commit()
        log.info(
            "erase: the contact of %d lead(s) erased on request, %d card(s) to redraw",
            len(erased),
            cards,
        )
    return Erasure(erased, cards, still_open)


async def purge_contact(
    uow: UnitOfWork, ctx: Context, *, lead_id: int, edit_at: Callable[[int], datetime]
) -> int:
    """Retention: purge the contact of one finished lead (claimed by the caller) and commit;
    returns how many cards are edited, spaced out per chat by `edit_at`."""
    lead = await uow.leads.lock(lead_id)
    if lead is None:
        return 0
    cards = await redact_lead(
        uow,
        ctx,
        lead,
        by=ErasedBy.RETENTION,
        actor=Actor.system("retention"),
        source=Source.SYSTEM,
        edit_at=edit_at,
    )
    await uow.commit()
    return cards
