"""Offers: one partner's chance to take one lead, and the outcome of answering it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class OfferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    UNDELIVERABLE = "undeliverable"


# why an offer was withdrawn: a manager took the accepted lead back from that partner (who
# then counts as tried), as against a copy withdrawn because someone else got the lead first
TAKEN_BACK = "taken back"


def tried_it(offer: Offer) -> bool:
    """Whether the offer's partner has had its go at the lead: offered it, and answered, let
    the window pass, could not be reached, or had it taken back. A copy withdrawn because
    another partner (or a manager's assignment) got the lead first is no go at all."""
    return offer.status is not OfferStatus.WITHDRAWN or offer.decline_reason == TAKEN_BACK


class OfferMode(StrEnum):
    EXCLUSIVE = "exclusive"
    BROADCAST = "broadcast"
    MANUAL = "manual"


@dataclass(frozen=True)
class Offer:
    id: int
    lead_id: int
    partner_id: int
    round: int
    mode: OfferMode
    status: OfferStatus
    created_at: datetime
    delivered_at: datetime | None
    expires_at: datetime | None
    responded_at: datetime | None
    responder: str | None
    decline_reason: str | None
    remind_at: datetime | None = None
    why: str = ""  # the routing reason shown on the card


@dataclass(frozen=True)
class Outcome:
    """What a use case tells the person who asked: ok or not, and a sentence why."""

    ok: bool
    message: str
    lead_id: int | None = None

    @classmethod
    def done(cls, message: str, lead_id: int | None = None) -> Outcome:
        return cls(True, message, lead_id)

    @classmethod
    def refused(cls, message: str, lead_id: int | None = None) -> Outcome:
        return cls(False, message, lead_id)
