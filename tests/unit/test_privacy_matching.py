"""Finding a person by e-mail or phone however it was written, and scrubbing copies of them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import InvalidInput
from bot.domain.privacy import Scrubber, normalize_email, parse_phone, phone_to_find, same_phone

national = st.text("0123456789", min_size=6, max_size=11).map(lambda d: "1" + d)  # no trunk 0
country = st.sampled_from(["1", "33", "39", "43", "49", "353"])
separators = st.lists(st.sampled_from(["", " ", "-", "/", "."]), min_size=12, max_size=12)


def spell(digits: str, seps: list[str]) -> str:
    return "".join(d + s for d, s in zip(digits, seps, strict=False)) + digits[len(seps) :]


@given(country, national, separators, separators)
def test_one_number_matches_itself_however_written(cc, number, a, b):
    spellings = [f"+{cc} {spell(number, a)}", f"00{cc}{spell(number, b)}", f"0{spell(number, b)}",
                 f"+{cc} (0){number}", number]  # fmt: skip
    phones = [parse_phone(s) for s in spellings]
    assert all(same_phone(x, y) for x in phones for y in phones)


@given(country, national, st.integers(0, 5))
def test_a_different_digit_or_country_is_another_line(cc, number, at):
    other = number[:at] + str((int(number[at]) + 1) % 10) + number[at + 1 :]
    assert not same_phone(parse_phone(f"+{cc} {number}"), parse_phone(f"+{cc} {other}"))
    assert not same_phone(parse_phone(f"+{cc} {number}"), parse_phone(f"+7{cc} {number}"))


def test_addresses_compare_trimmed_and_case_folded():
    assert normalize_email("  Max.Kunde@Example.COM ") == "max.kunde@example.com"
    for bad in ("max", "max@", "@example.com", "max@example", "max kunde@example.com"):
        with pytest.raises(InvalidInput):
            normalize_email(bad)


def test_too_short_or_odd_numbers_are_refused():
    for bad in ("12345", "+49 1", "call me", "0800-FLOWERS"):
        with pytest.raises(InvalidInput):
            phone_to_find(bad)


def test_scrubbing_replaces_values_and_the_full_postcode_everywhere_in_json():
    scrub = Scrubber(["Max Kunde", "max@example.com", "+49 89 123456", "ab"], postcode="80331")
    value = {
        "external_id": "idem:web:MAX@example.com",
        "lines": ["Max Kunde called", "no partner covers DE-80331", "id 4989123456", "803310"],
        "n": 3,
        "ab": "about",  # values under 3 characters are too common to hunt for
    }
    assert scrub.json(value) == {
        "external_id": "idem:web:[erased]",
        "lines": ["[erased] called", "no partner covers DE-803", "id [erased]", "803310"],
        "n": 3,
        "ab": "about",
    }
    assert scrub.holds("crm-4989123456") and not scrub.holds("crm-17")


def test_scrubbing_leaves_addresses_times_and_dates_that_look_like_the_postcode():
    """A Belgian 3000 or a Danish 2026 is also a port and a year: only the postcode goes."""
    scrub = Scrubber(["Max Kunde"], postcode="2026")
    value = {
        "url": "http://crm.internal:2026/hooks?lead=2026",
        "event": "lead.created",
        "at": "2026-03-02T09:00:00+00:00",
        "body": {"lead": {"postcode": "2026"}, "created_at": "2026-03-02T09:00:00+00:00"},
        "lines": ["2026 København, Max Kunde", "since 02.03.2026", "port :2026", "DK-2026"],
    }
    assert scrub.json(value) == {
        "url": "http://crm.internal:2026/hooks?lead=2026",
        "event": "lead.created",
        "at": "2026-03-02T09:00:00+00:00",
        "body": {"lead": {"postcode": "202"}, "created_at": "2026-03-02T09:00:00+00:00"},
        "lines": ["202 København, [erased]", "since 02.03.2026", "port :2026", "DK-202"],
    }
