"""The leadbot.yaml schema: validation that lists every problem with its path."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from bot.domain.durations import parse_duration
from bot.domain.errors import ConfigError
from bot.domain.hours import parse_hours
from bot.domain.partners import parse_territory
from bot.policy_checks import cross_check

Duration = Annotated[
    timedelta, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str | int) else v)
]


def _positive(delta: timedelta) -> timedelta:
    if delta.total_seconds() <= 0:
        raise ValueError("must be longer than zero")
    return delta


PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


def _territory(text: str) -> str:
    parse_territory(text)
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Policy(_Strict):
    mode: Literal["exclusive", "broadcast"] = "exclusive"
    broadcast_size: int = Field(3, ge=1, le=50)
    offer_timeout: PositiveDuration = timedelta(minutes=30)
    max_rounds: int = Field(3, ge=1)
    reminder_before: Duration = timedelta(minutes=10)
    business_hours_only: bool = False
    stale_after: PositiveDuration = timedelta(hours=48)
    escalation_repeats: int = Field(3, ge=0, le=100)
    out_of_hours: Literal["hold", "skip", "offer"] = "skip"
    prefer: Literal["fair", "nearest"] = "fair"
    decline_reasons: list[str] = ["not_my_area", "no_capacity", "not_a_fit", "duplicate", "spam"]
    lost_reasons: list[str] = ["price", "competitor", "no_response", "not_qualified", "timing"]


def _true_or_false(value: Any) -> Any:
    if not isinstance(value, bool):  # YAML's true/false (yes/no); never "off" or 0 by accident
        raise ValueError(f"must be true or false, not {value!r}")
    return value


class Member(_Strict):
    name: str = Field(min_length=1, max_length=150)
    slack: str | None = Field(None, pattern=r"^[UW][A-Z0-9]+$")
    # the Slack workspace that user id is in (Slack Connect); default: the partner's slack_team
    slack_team: str | None = Field(None, pattern=r"^[TE][A-Z0-9]{1,31}$")
    telegram: int | None = None
    role: Literal["manager", "partner_admin", "partner_rep"] | None = None
    # a DM with each new offer once they have started the bot (they may switch it with /dm)
    telegram_dm: Annotated[bool, BeforeValidator(_true_or_false)] = True


ChatId = Annotated[str, Field(min_length=1, max_length=64)]
TeamId = Annotated[str, Field(min_length=1, max_length=32)]


class Managers(_Strict):
    slack_channel: ChatId | None = None
    slack_team: TeamId | None = None
    telegram_chat: int | None = None
    members: list[Member] = []


Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class Partner(_Strict):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    territories: list[Annotated[str, AfterValidator(_territory)]] = Field(min_length=1)
    specialties: list[str] = []
    languages: list[str] = []
    capacity: int = Field(10, ge=0)
    weight: int = Field(1, ge=1, le=1000)
    priority: int = Field(1, ge=1)
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"
    hours: Annotated[dict[str, str | list[str]], AfterValidator(_hours)] = {}
    holidays: list[date] = []
    daily_cap: int | None = Field(None, ge=1)
    location: Annotated[str, AfterValidator(_location)] | None = None
    paused: bool = False
    paused_until: date | None = None
    slack_channel: ChatId | None = None
    slack_team: TeamId | None = None
    telegram_chat: int | None = None
    members: list[Member] = []


class SourceCost(_Strict):
    cost_per_lead: float = Field(0, ge=0)


class Form(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    source: str
    allowed_origins: list[str] = []
    redirect: str | None = None
    fields: dict[str, str] = {}


WebhookEvent = Literal[
    "lead.created",
    "offer.created",
    "offer.accepted",
    "offer.declined",
    "offer.expired",
    "lead.unassigned",
    "lead.stage_changed",
]


class Webhook(_Strict):
    url: str = Field(pattern=r"^https?://", max_length=500)
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    events: list[WebhookEvent] = Field(min_length=1)


class Digest(_Strict):
    time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"


class LeadbotConfig(_Strict):
    policy: Policy = Policy()
    managers: Managers = Managers()
    partners: list[Partner] = []
    sources: dict[str, SourceCost] = {}
    forms: list[Form] = []
    webhooks: list[Webhook] = []
    digest: Digest | None = None
    retention_days: int = Field(365, ge=1)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "is not a known setting"
    if err["type"] == "missing":
        return "is required"
    return msg


def validate_document(document: Any, *, filename: str = "leadbot.yaml") -> LeadbotConfig:
    """Validate a parsed YAML document; ConfigError lists every problem as 'file: path: reason'."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{filename}: the top level must be a mapping of settings"])
    problems: list[str] = []
    config = None
    try:
        config = LeadbotConfig.model_validate(document)
    except ValidationError as exc:
        problems = [f"{_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
    problems += cross_check(document)  # also when fields failed: every problem at once
    if problems or config is None:
        raise ConfigError([f"{filename}: {p}" for p in problems])
    return config


def load_file(path: Path) -> tuple[LeadbotConfig, dict[str, Any]]:
    """Read and validate a leadbot.yaml; returns the config and the raw document."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(
            [f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from None
    config = validate_document(document, filename=str(path))
    return config, document or {}
