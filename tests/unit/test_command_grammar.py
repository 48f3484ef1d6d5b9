"""How `who`'s words read: a country, a postcode (maybe two words, maybe with a dash of its own)
and a specialty."""

import pytest

from bot.command_grammar import Usage, Where, parse_where

KNOWN = {"heat-pump", "pv"}


@pytest.mark.parametrize(
    ("words", "countries", "where"),
    [
        (["DE-80331"], {"DE", "AT"}, Where("DE", "80331", None)),
        (["de:80331", "Heat-Pump"], {"DE"}, Where("DE", "80331", "heat-pump")),
        (["80331"], {"DE"}, Where("DE", "80331", None)),  # one country: it need not be said
        (["GB-SW1A", "1AA"], {"GB"}, Where("GB", "SW1A 1AA", None)),
        (["SW1A", "1AA", "heat-pump"], {"GB"}, Where("GB", "SW1A 1AA", "heat-pump")),
        (["1012", "pv"], {"NL"}, Where("NL", "1012", "pv")),  # a specialty, not a half
        (["1012", "AB"], {"NL"}, Where("NL", "1012 AB", None)),
        (["PL-00-950"], {"PL", "DE"}, Where("PL", "00-950", None)),
        (["00-950"], {"PL"}, Where("PL", "00-950", None)),
    ],
)
def test_where_reads(words, countries, where):
    assert parse_where(words, specialties=KNOWN, countries=countries) == where


@pytest.mark.parametrize(
    ("words", "countries", "says"),
    [
        ([], {"DE"}, "Give a postcode, and a specialty if you like"),
        (["DE-"], {"DE"}, "Give a postcode, like DE-80331"),
        (["80331"], {"DE", "AT"}, "Say which country, like DE-80331"),
        (["XYZ-1"], {"DE"}, "'XYZ' is not a country code"),
    ],
)
def test_what_cannot_be_read_says_why(words, countries, says):
    with pytest.raises(Usage, match=says):
        parse_where(words, specialties=KNOWN, countries=countries)
