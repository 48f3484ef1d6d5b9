"""Reading what a chat should show for an offer, right before it is sent or edited."""

from __future__ import annotations

from bot.cards import build_offer_card
from bot.dispatch.context import Context
from bot.dispatch.windows import offer_window
from bot.domain.leads import Lead
from bot.domain.offers import Offer, OfferStatus
from bot.messaging import OfferCard
from bot.store.uow import UnitOfWork


async def render_offer(
    uow: UnitOfWork,
    ctx: Context,
    *,
    offer_id: int,
    platform: str,
    offer: Offer | None = None,
    lead: Lead | None = None,
    partner_name: str | None = None,
    mentions: list[tuple[str, str, str]] | None = None,
    reader: int | None = None,
    chat_active: bool = True,
) -> OfferCard | None:
    """The card for an offer as it stands; None when there is nothing to post any more.

    `offer`, `lead`, `partner_name` and `mentions` (the partner's members' chat accounts, as
    `MemberRepo.list_for_partner` gives them) may be passed when the caller holds them as they
    stand in this transaction (saves the reads on the hot path). `reader`: the member whose private
    chat this copy is in; the contact shows there only while they belong to the partner.
    `chat_active`: whether the chat is still one of the partner's (leadbot.yaml may have taken
    it away, or given it to another partner): the contact never shows in one that is not.
    """
    if offer is None:
        offer = await uow.offers.get(offer_id)
    if offer is None:
        return None
    if lead is None:
        lead = await uow.leads.get(offer.lead_id)
        assert lead is not None
    mine = (
        lead.partner_id == offer.partner_id and offer.status is OfferStatus.ACCEPTED and chat_active
    )
    if mine and reader is not None:  # a DM copy: its reader may have left the partner since
        mine = await uow.members.belongs(reader, partner_id=offer.partner_id)
    deadline = offer.expires_at
    if offer.status is OfferStatus.PENDING and deadline is None:
        # the window starts when this lands, counted as it will be (working hours only, maybe)
        deadline, _remind = await offer_window(
            uow, ctx, lead=lead, partner_id=offer.partner_id, start=ctx.now()
        )
    # times on the card read in the partner's zone (cached: no query on the hot path)
    facts = (await ctx.policies.directory(uow, at_least=lead.policy_version)).partners.get(
        offer.partner_id
    )
    taken_by = None
    if lead.partner_id is not None and not mine:
        taken_by = await uow.partners.get_name(lead.partner_id)
    members = mentions
    if members is None:
        members = await uow.members.list_for_partner(offer.partner_id)
    here = [(name, ext) for name, plat, ext in members if plat == platform]
    responder = next((ext for name, ext in here if name == offer.responder), None) if mine else None
    return build_offer_card(
        offer=offer,
        lead=lead,
        partner_name=partner_name or await uow.partners.get_name(offer.partner_id),
        why_you=offer.why,
        mentions=[ext for _name, ext in here],
        deadline=deadline,
        contact=await uow.leads.get_contact(lead.id) if mine else None,
        taken_by=taken_by,
        responder_id=responder,
        timezone=facts.timezone if facts is not None else "UTC",
    )
