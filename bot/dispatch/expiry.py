"""expire_offer: the offer window closed without an answer."""

from __future__ import annotations

from bot.dispatch.common import settle_offer
from bot.dispatch.context import Context
from bot.dispatch.offering import offer_next
from bot.domain.actors import Actor, Source
from bot.domain.offers import OfferStatus
from bot.store.uow import UnitOfWork


async def expire_offer(uow: UnitOfWork, ctx: Context, *, offer_id: int) -> bool:
    """Expire the offer if it is still pending and due, and pass the lead on. True if it did.

    Safe to call any number of times, from any timer or sweep, on any instance.
    """
    offer = await uow.offers.get(offer_id)
    if offer is None or offer.status is not OfferStatus.PENDING:
        return False
    lead = await uow.leads.lock(offer.lead_id)
    timer = Actor.system("offer timer")
    gone = await settle_offer(
        uow, ctx, offer_id, OfferStatus.EXPIRED, actor=timer, source=Source.TIMER, due=True
    )
    if gone is None:
        return False
    assert lead is not None  # the lead row itself did not change: settling touched the offer
    await offer_next(uow, ctx, lead, actor=timer, source=Source.TIMER)
    await uow.commit()
    return True
