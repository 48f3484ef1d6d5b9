"""Personal data: matching a person by e-mail or phone, and scrubbing copies of their data out of
stored text (pure: no database)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.errors import InvalidInput

ERASED = "[erased]"
MIN_PHONE_DIGITS = 6  # fewer would match strangers' numbers
AREA_LENGTH = 3  # what an offer card shows of a postcode (bot.cards.area), kept after erasure
_PHONE_CHARACTERS = re.compile(r"^[+0-9 ()/.-]+$")
# JSON keys whose values are never a person's data but addresses, names of things and times:
# scrubbing them would only break them (a webhook's port equal to the postcode, a year in a
# timestamp equal to it)
NOT_PERSONAL = frozenset({"url", "secret_env", "event", "at", "kind"})


class ErasedBy(StrEnum):
    REQUEST = "request"  # `leadbot erase`
    RETENTION = "retention"  # retention_days passed


def normalize_email(text: str) -> str:
    """The address as compared: trimmed and case-folded; InvalidInput unless it is one."""
    value = text.strip().casefold()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in value):
        raise InvalidInput(f"'{text.strip()}' is not an e-mail address")
    return value


@dataclass(frozen=True)
class Phone:
    """A phone number by its digits; `international`: written with + or 00 and a country code."""

    digits: str
    international: bool

    @property
    def core(self) -> str:
        """The digits without a national trunk 0 (international numbers stay as they are)."""
        return self.digits if self.international else self.digits.lstrip("0")


def parse_phone(text: str) -> Phone:
    """Digits of a stored or given number; +49 and 0049 both mean international, and the
    trunk 0 written as "(0)" after a country code (+49 (0)89 1234) is not dialled."""
    value = text.strip()
    if value.startswith(("+", "00")):
        value = value.replace("(0)", "")
    digits = "".join(c for c in value if c in "0123456789")
    if value.startswith("+"):
        return Phone(digits, True)
    if digits.startswith("00"):
        return Phone(digits[2:], True)
    return Phone(digits, False)


def phone_to_find(text: str) -> Phone:
    """A phone number given to `leadbot erase`; InvalidInput if it cannot be matched safely."""
    if not _PHONE_CHARACTERS.match(text.strip()):
        raise InvalidInput(
            f"'{text.strip()}' is not a phone number (digits, spaces, + ( ) / . - only)"
        )
    phone = parse_phone(text)
    if len(phone.core) < MIN_PHONE_DIGITS:
        raise InvalidInput(
            f"'{text.strip()}' has too few digits to match safely (at least {MIN_PHONE_DIGITS})"
        )
    return phone


def same_phone(a: Phone, b: Phone) -> bool:
    """Whether two numbers are the same line: equal digits, or one international (+49 89 1234)
    and one national (089 1234) that differ only by a country code of 1 to 3 digits."""
    if a.international == b.international:
        return a.core == b.core and len(a.core) >= MIN_PHONE_DIGITS
    world, home = (a, b) if a.international else (b, a)
    extra = len(world.digits) - len(home.core)
    long_enough = len(home.core) >= MIN_PHONE_DIGITS
    return long_enough and 1 <= extra <= 3 and world.digits.endswith(home.core)


def digits_pattern(phone: Phone) -> str:
    """A LIKE pattern every stored spelling of the number matches (and a few others, which
    `same_phone` then drops): its last digits in order, anything in between."""
    return "%" + "%".join(phone.core[-MIN_PHONE_DIGITS:]) + "%"


def postcode_area(postcode: str) -> str:
    """The part of a postcode an erased lead keeps: what its card showed."""
    return postcode[:AREA_LENGTH]


class Scrubber:
    """Replaces one lead's personal values in stored text and JSON with "[erased]", and its full
    postcode with the area kept."""

    def __init__(self, values: Iterable[str], *, postcode: str | None = None) -> None:
        terms = {v.strip() for v in values if len(v.strip()) >= 3}
        for value in list(terms):  # a phone is also copied as bare digits (external ids...)
            digits = parse_phone(value).digits
            if _PHONE_CHARACTERS.match(value) and len(digits) >= MIN_PHONE_DIGITS:
                terms.add(digits)
        ordered = sorted(terms, key=len, reverse=True)  # the longest first: no half-replaced term
        self._terms = (
            re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None
        )
        area = postcode_area(postcode) if postcode else None
        self._postcode = (
            # standing alone: not inside a word, a number, a time or port (:3000), a date
            # (2026-03-02, 02.03.2026); "DE-80331" and "80331 München" are found
            re.compile(
                rf"(?<![0-9A-Za-z:.]){re.escape(postcode)}(?![0-9A-Za-z]|[-.:][0-9])",
                re.IGNORECASE,
            )
            if postcode and area != postcode
            else None
        )
        self._area = area or ""

    def holds(self, text: str | None) -> bool:
        """Whether `text` contains one of the personal values."""
        return bool(text and self._terms is not None and self._terms.search(text))

    def text(self, text: str) -> str:
        if self._terms is not None:
            text = self._terms.sub(ERASED, text)
        if self._postcode is not None:
            text = self._postcode.sub(self._area, text)
        return text

    def json(self, value: Any) -> Any:
        """A copy of a JSON value with every string in it scrubbed (but under `NOT_PERSONAL`
        keys and keys ending in `_at`)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {
                k: v if k in NOT_PERSONAL or k.endswith("_at") else self.json(v)
                for k, v in value.items()
            }
        return value
