"""Incoming leads: every bad field named; good input normalised."""

import pytest
from pydantic import ValidationError

from bot.intake_schema import LeadIn, field_errors


def errors(**doc):
    with pytest.raises(ValidationError) as caught:
        LeadIn.model_validate(doc)
    return field_errors(caught.value)


def test_a_good_lead():
    lead = LeadIn.model_validate(
        {
            "country": "de",
            "postcode": "80331",
            "specialties": ["Heat-Pump "],
            "contact": {"email": "a@example.com"},
        }
    ).to_new_lead()
    assert lead.country == "DE" and lead.specialties == ("heat-pump",)
    assert lead.contact.email == "a@example.com"


def test_every_bad_field_is_named():
    problems = errors(
        country="Germany",
        postcode="8",
        need="x" * 2001,
        estimated_value=-1,
        contact={"email": "nope", "phone": "call me"},
        colour="red",
    )
    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == [
        "colour",
        "contact.email",
        "contact.phone",
        "country",
        "estimated_value",
        "need",
        "postcode",
    ]


def test_postcode_must_fit_the_country():
    assert errors(country="DE", postcode="SW1A") == [
        "postcode: 'SW1A' does not look like a DE postcode"
    ]
    LeadIn.model_validate({"country": "GB", "postcode": "SW1A 1AA"})


def test_coordinates_come_in_pairs():
    assert any("lat and lon" in p for p in errors(country="DE", postcode="80331", lat=48.1))


def test_only_ascii_digits_count_as_a_numeric_postcode():
    assert errors(country="DE", postcode="8033²") == [
        "postcode: '8033²' does not look like a DE postcode"
    ]


def test_control_characters_are_refused_everywhere():
    assert errors(country="DE", postcode="80331", need="a\x00b") == [
        "need: contains control characters"
    ]
    assert errors(country="DE", postcode="80331", contact={"name": "Max\x07"}) == [
        "contact.name: contains control characters"
    ]
    assert errors(country="DE", postcode="80331", specialties=["ok", "heat\x00pump"]) == [
        "specialties.1: contains control characters"
    ]
    assert errors(country="DE", postcode="80331", city="a\x7fb", need="c\x9fd") == [
        "city: contains control characters",
        "need: contains control characters",
    ]
    # what people do type stays: line breaks and tabs in what they need
    need = LeadIn.model_validate({"country": "DE", "postcode": "80331", "need": "one\r\n\ttwo"})
    assert need.need == "one\r\n\ttwo"
