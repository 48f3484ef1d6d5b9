"""The leadbot.yaml schema: validation that lists every problem with its path (what each field
accepts: bot/policy_fields.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from bot.domain.errors import ConfigError
from bot.policy_checks import cross_check
from bot.policy_fields import (
    Duration,
    FormTarget,
    Language,
    Location,
    Lowered,
    Origin,
    PositiveDuration,
    Reasons,
    SlackChannel,
    Slug,
    SourceName,
    TeamId,
    Territory,
    TimeZone,
    TrueOrFalse,
    WeeklyHoursText,
)
from bot.text_files import decode_utf8


class _Strict(BaseModel):
    # unknown keys are errors; the attribute docstrings are docs/configuration.md
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Policy(_Strict):
    mode: Literal["exclusive", "broadcast"] = "exclusive"
    """`exclusive`: one partner at a time; `broadcast`: the top `broadcast_size` partners at once,
    the first valid Accept wins."""
    broadcast_size: int = Field(3, ge=1, le=50)
    """How many partners a broadcast offer goes to at once."""
    offer_timeout: PositiveDuration = timedelta(minutes=30)
    """How long each offer waits for an answer, counted from delivery (`90s`, `30m`, `2h`, `1d`)."""
    max_rounds: int = Field(3, ge=1)
    """Partners (exclusive) or broadcast rounds tried before the lead goes to the managers."""
    reminder_before: Duration = timedelta(minutes=10)
    """A push to the partner's reps this long before the window closes (`0s`: none)."""
    business_hours_only: bool = False
    """Count offer windows only in the partner's working hours (never on its holidays)."""
    stale_after: PositiveDuration = timedelta(hours=48)
    """An accepted lead with no stage change for this long: the partner is nudged; twice as long:
    the managers are told."""
    escalation_repeats: int = Field(3, ge=0, le=100)
    """How often the managers are reminded of an unassigned lead, once per `offer_timeout`."""
    out_of_hours: Literal["hold", "skip", "offer"] = "skip"
    """A partner outside its hours: `skip` it, `hold` the lead until the first one opens, or
    `offer` anyway."""
    prefer: Literal["fair", "nearest"] = "fair"
    """Within a priority tier: `fair` weighted rotation, or the `nearest` partner by `location`."""
    decline_reasons: list[str] = ["not_my_area", "no_capacity", "not_a_fit", "duplicate", "spam"]
    """The reasons a partner may give for Decline."""
    lost_reasons: Reasons = [
        "price",
        "competitor",
        "no_response",
        "not_qualified",
        "timing",
    ]
    """The reasons a partner may give for Lost."""


class Member(_Strict):
    name: str = Field(min_length=1, max_length=150)
    """The person's name, as cards and reports show it."""
    slack: str | None = Field(None, pattern=r"^[UW][A-Z0-9]+$")
    """Their Slack user id (`U…`): linked at once, no code needed."""
    slack_team: str | None = Field(None, pattern=r"^[TE][A-Z0-9]{1,31}$")
    """The Slack workspace that user id is in (Slack Connect users are in their own); default: the
    partner's `slack_team`, else the home workspace."""
    telegram: int | None = None
    """Their Telegram user id: linked at once, no code needed."""
    role: Literal["manager", "partner_admin", "partner_rep"] | None = None
    """`partner_admin` may pause the partner and change its capacity; `partner_rep` (the default in
    a partner) handles leads; under `managers` everyone is a `manager`."""
    telegram_dm: TrueOrFalse = True
    """A direct message with each new offer once they have started the bot (they may switch it
    themselves with `/dm on|off`)."""


class Managers(_Strict):
    slack_channel: SlackChannel | None = None
    """The managers' Slack channel: escalations, undeliverable leads, the digest."""
    slack_team: TeamId | None = None
    """The workspace that channel is in, when it is not the home workspace."""
    telegram_chat: int | None = None
    """The managers' Telegram group (a negative id)."""
    members: list[Member] = []
    """The channel managers: they may run every command."""


class Partner(_Strict):
    slug: Slug
    """Short unique name used in commands (`acme-heating`): lower-case letters, digits
    and dashes; not `all`, `until` or a period (`30d`, `2026-03`), which commands read as
    such."""
    name: str = Field(min_length=1, max_length=200)
    """The company name, as cards and reports show it."""
    territories: list[Territory] = Field(min_length=1)
    """Where it takes leads: postcode prefixes (`DE:80`), ranges (`DE:85000-85999`) or a radius
    (`DE:radius:48.137,11.575:40km`)."""
    specialties: list[Lowered] = []
    """What it does (`heat-pump`, `solar`): a lead's specialties must all be among them."""
    languages: list[Language] = []
    """Languages it serves (`de`, `en`): a lead with a language goes only to partners speaking it;
    empty: any."""
    capacity: int = Field(10, ge=0)
    """Most open accepted leads at once; at capacity it is skipped and Accept is refused."""
    weight: int = Field(1, ge=1, le=1000)
    """Share in the fair rotation: weight 2 gets twice the offers of weight 1, never
    all in a row."""
    priority: int = Field(1, ge=1)
    """Tier: partners of tier 2 get a lead only when no tier-1 partner is left."""
    timezone: TimeZone = "UTC"
    """Its time zone (`Europe/Berlin`), for working hours, holidays and the daily cap, and the
    times its cards and reminders write out (a Telegram card's "Answer by", "Accepted at";
    Slack shows the deadline in each reader's own)."""
    hours: WeeklyHoursText = {}
    """Working hours by day (`mon-fri: "08:00-18:00"`, `sat: ["09:00-12:00"]`); empty: open all
    day, every day but its holidays. Spans that overlap (`mon-fri` and an extra `mon`) count
    once."""
    holidays: list[date] = []
    """Days it is closed all day, whatever its `hours` (`2026-12-24`): no offers unless
    `out_of_hours: offer`, and with `business_hours_only` its offer windows do not count them."""
    daily_cap: int | None = Field(None, ge=1)
    """Most offers per local day."""
    location: Location | None = None
    """Where it is (`48.262,11.434`), for `prefer: nearest`."""
    paused: bool = False
    """Paused: it gets no offers (also from the chat with `pause`)."""
    paused_until: date | None = None
    """Paused until this day."""
    slack_channel: SlackChannel | None = None
    """Its Slack channel (in the home workspace, shared by Slack Connect, or in its own
    workspace)."""
    slack_team: TeamId | None = None
    """Its own workspace, when it installed the app there (`leadbot partners invite
    SLUG --slack`)."""
    telegram_chat: int | None = None
    """Its Telegram group (a negative id)."""
    members: list[Member] = []
    """Its people: who may press its buttons and run its commands."""


class SourceCost(_Strict):
    cost_per_lead: float = Field(0, ge=0)
    """What a lead from this source costs, for cost per lead and ROI by source."""


class Form(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    """The form's address: `POST /api/v1/forms/<key>`."""
    source: SourceName
    """The source its leads are recorded under (letters, digits and `_ . : -`, up to 64)."""
    allowed_origins: list[Origin] = []
    """The web pages allowed to post to it (`https://www.example.com`, as browsers send it in
    `Origin`: scheme and host, no path); others are refused."""
    redirect: str | None = None
    """The thank-you page a browser is sent to after posting."""
    fields: dict[str, FormTarget] = {}
    """Form field name to lead field (`mail: contact.email`, `plz: postcode`). Unmapped, only
    what a person can say passes under its own name (contact, country, postcode, city, need,
    specialties, language, consent); `estimated_value`, `temperature`, `qualification`, `lat`
    and `lon` only when mapped here."""


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
    """Where the events are POSTed."""
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    """The environment variable holding the signing secret (`X-Leadbot-Signature`)."""
    events: list[WebhookEvent] = Field(min_length=1)
    """Which events it gets: `lead.created`, `offer.created`, `offer.accepted`, `offer.declined`,
    `offer.expired`, `lead.unassigned`, `lead.stage_changed`."""


class Digest(_Strict):
    time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """When the managers' daily digest goes out (`HH:MM`)."""
    timezone: TimeZone = "UTC"
    """The time zone of that time."""


class LeadbotConfig(_Strict):
    policy: Policy = Policy()
    """How offers are made, timed and escalated."""
    managers: Managers = Managers()
    """The managers' chats and people."""
    partners: list[Partner] = []
    """The partners leads are routed to."""
    sources: dict[SourceName, SourceCost] = {}
    """Optional: cost per lead by source name."""
    forms: list[Form] = []
    """Optional: public HTML form endpoints."""
    webhooks: list[Webhook] = []
    """Optional: signed event callbacks to a CRM."""
    digest: Digest | None = None
    """Optional: the managers' daily digest."""
    retention_days: int = Field(365, ge=1)
    """Contact data of closed leads is purged after this many days."""


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


def validate_document(
    document: Any, *, filename: str = "leadbot.yaml", stored: bool = False
) -> LeadbotConfig:
    """Validate a parsed YAML document; ConfigError lists every problem as 'file: path: reason'.
    `stored`: an applied configuration read back, which the rules added since it was applied
    leave as it is (see `policy_fields._stored`)."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{filename}: the top level must be a mapping of settings"])
    problems: list[str] = []
    config = None
    try:
        config = LeadbotConfig.model_validate(document, context={"stored": stored})
    except ValidationError as exc:
        problems = [f"{_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
    # also when fields failed: every problem at once
    problems += cross_check(document, stored=stored)
    if problems or config is None:
        raise ConfigError([f"{filename}: {p}" for p in problems])
    return config


def load_file(path: Path) -> tuple[LeadbotConfig, dict[str, Any]]:
    """Read and validate a leadbot.yaml; returns the config and the raw document."""
    try:
        text = decode_utf8(path, path.read_bytes())
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None
    loader = _Loader(text)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(
            [f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from None
    finally:
        loader.dispose()
    repeated = [f"{path}: {problem}" for problem in loader.repeated]
    try:
        config = validate_document(document, filename=str(path))
    except ConfigError as exc:
        raise ConfigError(repeated + exc.problems) from None
    if repeated:
        raise ConfigError(repeated)
    return config, document or {}


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader, noting each key given twice in one mapping: YAML keeps the
    last one silently, and a second `partners:` would drop every partner of the first."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._repeated: list[tuple[int, str]] = []

    @property
    def repeated(self) -> list[str]:
        """The keys given twice, in the order of the file (mappings are read outside in)."""
        return [problem for _line, problem in sorted(self._repeated)]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[str, int] = {}
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.value == "<<":  # merge keys repeat
                continue
            line = key.start_mark.line + 1
            if key.value in first:
                self._repeated.append(
                    (
                        line,
                        f"line {line}: '{key.value}' is given twice in this mapping (first on"
                        f" line {first[key.value]}); only the last would count",
                    )
                )
            first.setdefault(key.value, line)
        return super().construct_mapping(node, deep=deep)
