"""Building the neutral offer card from stored state (pure; adapters render it)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.leads import STAGE_ORDER, Contact, Lead, Stage
from bot.domain.offers import Offer, OfferStatus
from bot.messaging import Button, CardState, OfferCard

_VALUE_BANDS = [
    (1_000, "under 1k"),
    (5_000, "1k–5k"),
    (10_000, "5k–10k"),
    (25_000, "10k–25k"),
    (50_000, "25k–50k"),
]
# in place of the contact, when the person did not agree to be contacted by a partner
NO_CONSENT = "no consent to pass on the contact: the managers have it"
ERASED_LINES = {  # in place of the contact, once it is gone (keys: ErasedBy)
    "request": "contact erased on request",
    "retention": "contact removed after the retention period",
}
NEXT_STAGES = [Stage.CONTACTED, Stage.QUALIFIED, Stage.OPPORTUNITY, Stage.WON, Stage.LOST]
STAGE_CODES = {
    "c": Stage.CONTACTED,
    "q": Stage.QUALIFIED,
    "o": Stage.OPPORTUNITY,
    "w": Stage.WON,
    "l": Stage.LOST,
}


def value_band(value: float | None) -> str | None:
    if value is None:
        return None
    for limit, label in _VALUE_BANDS:
        if value < limit:
            return label
    return "50k+"


def area(lead: Lead) -> str:
    """Postcode prefix and city: enough to judge the trip, not enough to find the house."""
    shown = lead.postcode[:3] + "x" * max(0, len(lead.postcode) - 3)
    return f"{lead.country} {shown}" + (f", {lead.city}" if lead.city else "")


def teaser(lead: Lead) -> list[tuple[str, str]]:
    rows = [("Area", area(lead))]
    if lead.specialties:
        rows.append(("Needs", ", ".join(lead.specialties)))
    if lead.need:
        rows.append(("Request", lead.need if len(lead.need) <= 300 else lead.need[:297] + "..."))
    if lead.temperature:
        rows.append(("Temperature", lead.temperature))
    band = value_band(lead.estimated_value)
    if band:
        rows.append(("Value", band))
    return rows


def stage_buttons(lead: Lead) -> list[Button]:
    current = STAGE_ORDER.index(lead.stage) if lead.stage in STAGE_ORDER else len(STAGE_ORDER)
    codes = {stage: code for code, stage in STAGE_CODES.items()}
    return [
        Button(
            stage.value.capitalize(),
            f"l:{lead.id}:{codes[stage]}",
            "danger" if stage is Stage.LOST else "default",
        )
        for stage in NEXT_STAGES
        if stage is Stage.LOST or STAGE_ORDER.index(stage) > current
    ]


def _closed_line(offer: Offer, taken_by: str | None) -> str:
    if offer.status is OfferStatus.DECLINED:
        return f"Declined by {offer.responder} ({offer.decline_reason}) — passed on"
    if offer.status is OfferStatus.EXPIRED:
        return "Expired without an answer — passed on"
    if offer.status is OfferStatus.WITHDRAWN:
        return f"Taken by {taken_by}" if taken_by else "Withdrawn by a manager"
    if offer.status is OfferStatus.UNDELIVERABLE:
        return "Could not be delivered — passed on"
    return str(offer.status)


def build_offer_card(
    *,
    offer: Offer,
    lead: Lead,
    partner_name: str,
    why_you: str,
    mentions: list[str],
    deadline: datetime | None,
    contact: Contact | None = None,
    taken_by: str | None = None,
    responder_id: str | None = None,
    timezone: str = "UTC",
) -> OfferCard:
    """The card for `offer` as it stands now; contact only when this partner has the lead.
    `responder_id`: the accepting member's user id on the card's platform, if linked there.
    `timezone`: the partner's, for the times the card writes out."""
    ref = lead.public_id
    if offer.status is OfferStatus.PENDING:
        return OfferCard(
            offer_id=offer.id,
            lead_ref=ref,
            partner_name=partner_name,
            state=CardState.OPEN,
            headline=f"New lead {ref} for {partner_name}",
            teaser=teaser(lead),
            why_you=why_you,
            deadline=deadline,
            timezone=timezone,
            mentions=mentions,
            buttons=[
                Button("Accept", f"o:{offer.id}:a", "primary"),
                Button("Decline", f"o:{offer.id}:d", "danger"),
            ],
        )
    if offer.status is OfferStatus.ACCEPTED and lead.partner_id == offer.partner_id:
        responded = offer.responded_at
        at = f"{responded.astimezone(ZoneInfo(timezone)):%H:%M %Z}" if responded else ""
        closed = lead.stage in (Stage.WON, Stage.LOST)
        status = f"Accepted by {offer.responder} at {at}"
        if contact is not None and contact.erased:
            status += f" · {ERASED_LINES.get(contact.erased, 'contact erased')}"
            contact = None
        elif contact is not None and contact.consent is False:
            status += f" · {NO_CONSENT}"
            contact = None
        return OfferCard(
            offer_id=offer.id,
            lead_ref=ref,
            partner_name=partner_name,
            state=CardState.WON,
            headline=f"Lead {ref} — yours",
            teaser=teaser(lead),
            why_you=why_you,
            status_line=status,
            responder=(offer.responder, responder_id) if responder_id and offer.responder else None,
            mentions=mentions,
            contact=contact,
            stage=lead.stage.value,
            buttons=[] if closed else stage_buttons(lead),
        )
    return OfferCard(
        offer_id=offer.id,
        lead_ref=ref,
        partner_name=partner_name,
        state=CardState.CLOSED,
        headline=f"Lead {ref}",
        status_line=_closed_line(offer, taken_by),
    )
