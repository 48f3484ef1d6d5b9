"""Offer cards: a teaser before accept, contact details only for the winner."""

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.cards import NO_CONSENT, area, build_offer_card, value_band
from bot.domain.leads import Contact, DispatchStatus, Lead, Stage
from bot.domain.offers import Offer, OfferMode, OfferStatus
from bot.messaging import CardState

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_lead(**kw):
    values = dict(
        id=1,
        public_id="LABC1234",
        source="web",
        external_id=None,
        received_at=NOW,
        country="DE",
        postcode="80331",
        city="München",
        lat=None,
        lon=None,
        specialties=("heat-pump",),
        need="<!channel> call me",
        temperature="hot",
        qualification=None,
        estimated_value=12000.0,
        status=DispatchStatus.OFFERED,
        stage=Stage.NONE,
        partner_id=None,
        policy_version=1,
        round=1,
    )
    values.update(kw)
    return Lead(**values)


def make_offer(status=OfferStatus.PENDING, **kw):
    values = dict(
        id=7,
        lead_id=1,
        partner_id=3,
        round=1,
        mode=OfferMode.EXCLUSIVE,
        status=status,
        created_at=NOW,
        delivered_at=None,
        expires_at=None,
        responded_at=None,
        responder=None,
        decline_reason=None,
    )
    values.update(kw)
    return Offer(**values)


CONTACT = Contact(name="Max Kunde", email="max@example.com", phone="+49 1", street="Weg 1")


def test_open_card_is_a_teaser():
    card = build_offer_card(
        offer=make_offer(),
        lead=make_lead(),
        partner_name="ACME",
        why_you="80331 is in your area",
        mentions=["U1"],
        deadline=NOW,
    )
    assert card.state is CardState.OPEN and card.contact is None
    text = repr(card.teaser)
    assert "803xx" in text and "80331" not in text and "Max" not in text
    assert [b.value for b in card.buttons] == ["o:7:a", "o:7:d"]
    assert all(len(b.value.encode()) <= 64 for b in card.buttons)


def winner_card(contact: Contact):
    """Bob's partner took the lead and moved it to contacted."""
    return build_offer_card(
        offer=make_offer(OfferStatus.ACCEPTED, responder="Bob", responded_at=NOW),
        lead=make_lead(status=DispatchStatus.ACCEPTED, stage=Stage.CONTACTED, partner_id=3),
        partner_name="ACME",
        why_you="",
        mentions=[],
        deadline=None,
        contact=contact,
    )


def test_winner_card_has_contact_and_next_stages():
    card = winner_card(CONTACT)
    assert card.state is CardState.WON and card.contact == CONTACT
    assert [b.label for b in card.buttons] == ["Qualified", "Opportunity", "Won", "Lost"]
    assert card.status_line == "Accepted by Bob at 09:00 UTC"


def test_a_winner_without_the_persons_consent_sees_no_contact():
    card = winner_card(replace(CONTACT, consent=False))
    assert card.state is CardState.WON and card.contact is None
    assert card.status_line == f"Accepted by Bob at 09:00 UTC · {NO_CONSENT}"
    assert [b.label for b in card.buttons] == ["Qualified", "Opportunity", "Won", "Lost"]
    said_yes = replace(CONTACT, consent=True)
    assert winner_card(said_yes).contact == said_yes


def test_closed_cards_drop_the_teaser():
    lead = make_lead(status=DispatchStatus.ACCEPTED, partner_id=9)
    card = build_offer_card(
        offer=make_offer(OfferStatus.WITHDRAWN),
        lead=lead,
        partner_name="ACME",
        why_you="x",
        mentions=[],
        deadline=None,
        taken_by="Beta",
    )
    assert card.state is CardState.CLOSED and card.teaser == [] and card.why_you == ""
    assert card.status_line == "Taken by Beta" and card.buttons == []


def test_bands_and_area():
    assert value_band(None) is None and value_band(999) == "under 1k"
    assert value_band(12000) == "10k–25k" and value_band(10**6) == "50k+"
    assert area(make_lead(city=None)) == "DE 803xx"


def test_times_on_a_card_are_the_partners_own():
    """'Accepted at' reads in the partner's time zone, as its reminders do, not in UTC."""
    card = build_offer_card(
        offer=make_offer(OfferStatus.ACCEPTED, responder="Bob", responded_at=NOW),
        lead=make_lead(status=DispatchStatus.ACCEPTED, stage=Stage.ACCEPTED, partner_id=3),
        partner_name="ACME",
        why_you="",
        mentions=[],
        deadline=None,
        contact=CONTACT,
        timezone="America/New_York",
    )
    local = NOW.astimezone(ZoneInfo("America/New_York"))
    assert card.status_line == f"Accepted by Bob at {local:%H:%M %Z}"
    assert card.status_line != "Accepted by Bob at 09:00 UTC"
