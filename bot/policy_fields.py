"""What each field of leadbot.yaml accepts: its validators and the types the models of
bot/policy_file.py are built from. A rule added since a configuration was applied lets it
read back (`_stored`), so the running policy never stops on it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from bot.domain.durations import parse_duration
from bot.domain.hours import parse_hours
from bot.domain.leads import source_problem
from bot.domain.partners import parse_territory
from bot.intake_schema import MAPPABLE_FIELDS
from bot.postcodes import country_problem


def _duration(value: Any, info: ValidationInfo) -> Any:
    # a bare number has no unit: 30 is refused, and 1.5 would be read as 1.5 seconds (floats
    # were, before this rule: a stored configuration keeps them)
    if isinstance(value, str | int) or (isinstance(value, float) and not _stored(info)):
        return parse_duration(str(value))
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _positive(delta: timedelta) -> timedelta:
    if delta.total_seconds() <= 0:
        raise ValueError("must be longer than zero")
    return delta


PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


def _territory(text: str, info: ValidationInfo) -> str:
    territory = parse_territory(text)
    # a lead's country must be a real code (UK is refused: it is GB), so a territory in any
    # other would never match a lead
    problem = country_problem(territory.country)
    if problem is not None and not _stored(info):
        raise ValueError(problem)
    return text


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not a known time zone, like Europe/Berlin") from None
    return name


def _location(text: str) -> str:
    parse_location(text)
    return text


def parse_location(text: str) -> tuple[float, float]:
    """'48.137,11.575' -> (48.137, 11.575); ValueError otherwise."""
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"'{text}' is not a location; write it like '48.137,11.575'") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"'{text}' has coordinates out of range")
    return lat, lon


def _hours(spec: dict[str, Any]) -> dict[str, Any]:
    parse_hours(spec)
    return spec


def _stored(info: ValidationInfo) -> bool:
    """Whether this is an applied configuration read back: rules added since it was applied
    must not make it unreadable (the running policy would stop), so they apply when applying."""
    return bool(info.context and info.context.get("stored"))


def _source(name: str, info: ValidationInfo) -> str:
    problem = source_problem(name)
    if problem is not None and not _stored(info):
        raise ValueError(f"{problem} (the intake API's rule; its leads would all be refused)")
    return name


def as_origin(text: str) -> str | None:
    """'HTTPS://WWW.Example.com:443/' -> 'https://www.example.com': as a browser's Origin
    header reads (scheme and host in lower case, no default port, no trailing slash); None
    when it is not one (no http(s) scheme or host, or a path, query or user)."""
    try:
        parts = urlsplit(text.strip())
        port, host = parts.port, (parts.hostname or "").encode("idna").decode()  # as browsers
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    extra = parts.path not in ("", "/") or parts.query or parts.fragment or parts.username
    if scheme not in ("http", "https") or not host or extra:
        return None
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    default = (scheme, port) in (("https", 443), ("http", 80))
    return f"{scheme}://{host}" + (f":{port}" if port and not default else "")


def _origin(text: str, info: ValidationInfo) -> str:
    origin = as_origin(text)
    if origin is None and not _stored(info):
        raise ValueError(
            f"'{text}' is not an origin: write a scheme and host, like https://www.example.com"
            " (no path)"
        )
    return origin or text


def _form_field(target: str, info: ValidationInfo) -> str:
    # a value mapped to no field of a lead is left out at intake: every lead would lose it
    if target not in MAPPABLE_FIELDS and not _stored(info):
        raise ValueError(
            f"'{target}' is not a field a form may fill; one of:"
            f" {', '.join(sorted(MAPPABLE_FIELDS))}"
        )
    return target


def _some_reason(reasons: list[str], info: ValidationInfo) -> list[str]:
    # Lost is only taken with one of the reasons: with none, no lead could ever be marked lost
    if not reasons and not _stored(info):
        raise ValueError("needs at least one reason")
    return reasons


def _true_or_false(value: Any) -> Any:
    if not isinstance(value, bool):  # YAML's true/false (yes/no); never "off" or 0 by accident
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _slack_channel(channel: str, info: ValidationInfo) -> str:
    # Slack answers with, and buttons carry, the channel's ID: a name would match nothing
    if channel.startswith("#") and not _stored(info):
        raise ValueError(
            f"'{channel}' is the channel's name: give its ID (like C0123ABCD: the channel's"
            " details in Slack show it at the bottom)"
        )
    return channel


ChatId = Annotated[str, Field(min_length=1, max_length=64)]
SlackChannel = Annotated[ChatId, AfterValidator(_slack_channel)]
TeamId = Annotated[str, Field(min_length=1, max_length=32)]


def _language(code: str, info: ValidationInfo) -> str:
    # lower-cased as a lead's language is given; any code but two letters would never match
    lowered = code.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", lowered) and not _stored(info):
        raise ValueError(
            f"'{code}' is not a language code: two letters, like de (ISO 639-1), as leads give it"
        )
    return lowered


# as a lead's specialties are stored, so that 'Heat-Pump' matches them
Lowered = Annotated[str, AfterValidator(lambda v: v.strip().lower())]

# words the chat commands read in a partner's place: a partner so named could not be asked for
RESERVED_SLUGS = {"all": "everyone's funnel", "until": "pause … until DATE"}
_PERIOD_LIKE = re.compile(r"^(\d+d|\d{4}-\d{2})$")  # funnel 30d, funnel 2026-03


def _slug(slug: str, info: ValidationInfo) -> str:
    if _stored(info):
        return slug
    if slug in RESERVED_SLUGS:
        raise ValueError(f"'{slug}' is a word of the chat commands ({RESERVED_SLUGS[slug]})")
    if _PERIOD_LIKE.match(slug):
        raise ValueError(f"'{slug}' reads as a period in 'funnel' (like 30d or 2026-03)")
    return slug


Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"), AfterValidator(_slug)]


# the fields' types, as the models of bot/policy_file.py use them
Territory = Annotated[str, AfterValidator(_territory)]
Language = Annotated[str, AfterValidator(_language)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
WeeklyHoursText = Annotated[dict[str, str | list[str]], AfterValidator(_hours)]
Location = Annotated[str, AfterValidator(_location)]
SourceName = Annotated[str, AfterValidator(_source)]
Origin = Annotated[str, AfterValidator(_origin)]
FormTarget = Annotated[str, AfterValidator(_form_field)]
Reasons = Annotated[list[str], AfterValidator(_some_reason)]
TrueOrFalse = Annotated[bool, BeforeValidator(_true_or_false)]
