"""redraw_cards: put an offer's posted cards back as they stand (a question on a card was left
unanswered, e.g. the reasons keyboard of a Telegram Decline)."""

from __future__ import annotations

from bot.dispatch.common import queue_card_edits
from bot.dispatch.context import Context
from bot.domain.offers import OfferStatus
from bot.store.uow import UnitOfWork


async def redraw_cards(
    uow: UnitOfWork, ctx: Context, *, offer_id: int | None = None, lead_id: int | None = None
) -> None:
    """Queue edits of one offer's cards, or of the cards of the lead's accepted offer."""
    offer_ids = [offer_id] if offer_id is not None else []
    if lead_id is not None:
        offer_ids += [
            o.id
            for o in await uow.offers.list_for_lead(lead_id)
            if o.status is OfferStatus.ACCEPTED
        ]
    for one in offer_ids:
        await queue_card_edits(uow, ctx, one)
    await uow.commit()
