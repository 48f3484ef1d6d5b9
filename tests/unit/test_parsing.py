"""Durations, territories and working hours: accepted forms and clear refusals."""

from datetime import time, timedelta

import pytest

from bot.domain.durations import format_duration, parse_duration
from bot.domain.hours import parse_hours
from bot.domain.partners import TerritoryKind, normalize_postcode, parse_territory


@pytest.mark.parametrize(
    "text,expected",
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("0.5s", timedelta(seconds=0.5)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "30x", "m30", "-5m"])
def test_bad_durations_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_format_duration_round_trips():
    for text in ("90s", "30m", "2h", "1d"):
        assert format_duration(parse_duration(text)) == text


def test_territory_forms():
    assert parse_territory("DE:80").value == "80"
    r = parse_territory("DE:85000-85999")
    assert (r.kind, r.range_from, r.range_to) == (TerritoryKind.RANGE, 85000, 85999)
    g = parse_territory("DE:radius:48.137,11.575:40km")
    assert (g.kind, g.lat, g.lon, g.radius_km) == (TerritoryKind.RADIUS, 48.137, 11.575, 40)
    assert parse_territory("GB:sw1a").value == "SW1A"
    assert str(g) == "DE:radius:48.137,11.575:40km"


@pytest.mark.parametrize(
    "text,reason",
    [
        ("DE:8x", "is not a postcode prefix"),
        ("80", "2-letter country code"),
        ("DE:85999-85000", "start is after its end"),
        ("DE:radius:48.1,11.5", "is not a radius"),
        ("DE:radius:98.1,11.5:10km", "out of range"),
        ("DE:", "is not a postcode prefix"),
    ],
)
def test_bad_territories_name_the_problem(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_territory(text)


def test_postcodes_are_normalised():
    assert normalize_postcode(" sw1a 1aa ") == "SW1A1AA"


def test_hours():
    hours = parse_hours({"mon-fri": "08:00-18:00", "sat": ["09:00-12:00", "13:00-14:00"]})
    assert hours[0] == [(time(8), time(18))] and hours[4] == hours[0]
    assert len(hours[5]) == 2 and 6 not in hours


@pytest.mark.parametrize(
    "spec,reason",
    [
        ({"mon-fry": "08:00-18:00"}, "not a day"),
        ({"fri-mon": "08:00-18:00"}, "backwards"),
        ({"mon": "18:00-08:00"}, "ends before"),
        ({"mon": "8-18"}, "not a time span"),
    ],
)
def test_bad_hours(spec, reason):
    with pytest.raises(ValueError, match=reason):
        parse_hours(spec)


def test_unicode_digits_are_not_postcode_digits():
    with pytest.raises(ValueError, match="is not a postcode prefix"):
        parse_territory("DE:8²")
