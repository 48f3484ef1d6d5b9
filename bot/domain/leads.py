"""Leads: dispatch status and funnel stage, and the rules for moving between stages."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.errors import InvalidInput


class DispatchStatus(StrEnum):
    NEW = "new"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    UNASSIGNED = "unassigned"
    CLOSED = "closed"


class Stage(StrEnum):
    """Funnel stage, reported by the partner after accept."""

    NONE = "none"
    ACCEPTED = "accepted"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"


class Temperature(StrEnum):
    COLD = "cold"
    WARM = "warm"
    HOT = "hot"


class Qualification(StrEnum):
    MQL = "mql"
    SQL = "sql"
    PQL = "pql"


STAGE_ORDER = [
    Stage.ACCEPTED,
    Stage.CONTACTED,
    Stage.QUALIFIED,
    Stage.OPPORTUNITY,
    Stage.WON,
]
CLOSING_STAGES = frozenset({Stage.WON, Stage.LOST})
VALUED_STAGES = frozenset({Stage.OPPORTUNITY, Stage.WON})  # the stages that carry a value


def _rank(stage: Stage) -> int:
    # lost can follow any open stage, so it ranks with won
    return len(STAGE_ORDER) - 1 if stage is Stage.LOST else STAGE_ORDER.index(stage)


MILESTONES = {  # the funnel steps a lead is counted in once reached (and when first reached)
    Stage.CONTACTED: "contacted_at",
    Stage.QUALIFIED: "qualified_at",
    Stage.OPPORTUNITY: "opportunity_at",
}


def milestones_reached(stage: Stage) -> list[str]:
    """The milestone columns a lead moved to `stage` has passed (a jump passes the ones between;
    lost passes none: it can follow any stage)."""
    if stage is Stage.LOST or stage is Stage.NONE:
        return []
    return [column for step, column in MILESTONES.items() if _rank(step) <= _rank(stage)]


def check_stage_move(
    current: Stage,
    new: Stage,
    *,
    may_go_back: bool,
    value: float | None,
    reason: str | None,
    lost_reasons: list[str],
) -> None:
    """Raise InvalidInput unless moving a lead from `current` to `new` is allowed."""
    if new is Stage.NONE or (new is Stage.ACCEPTED and not may_go_back):
        raise InvalidInput(f"a lead cannot be moved to '{new}'")
    if current == new:
        raise InvalidInput(f"the lead is already '{new}'")
    if current in CLOSING_STAGES and not may_go_back:
        raise InvalidInput(f"the lead is already closed as '{current}'; ask a manager to reopen it")
    if current is not Stage.NONE and _rank(new) < _rank(current) and not may_go_back:
        raise InvalidInput(f"'{current}' cannot go back to '{new}'; ask a manager")
    if new in VALUED_STAGES:
        if value is None:
            raise InvalidInput(f"'{new}' needs a value")
        if value < 0:
            raise InvalidInput("the value cannot be negative")
    if new is Stage.LOST and reason not in lost_reasons:
        raise InvalidInput(f"lost needs a reason, one of: {', '.join(lost_reasons)}")


# a lead's source: the intake API's rule, and a form's `source` in leadbot.yaml
SOURCE_PATTERN = r"^[A-Za-z0-9_.:-]+$"
SOURCE_MAX_LENGTH = 64


def source_problem(name: str) -> str | None:
    """Why `name` cannot be a lead's source, or None when it can."""
    if len(name) <= SOURCE_MAX_LENGTH and re.fullmatch(SOURCE_PATTERN, name):
        return None
    return f"'{name}' is not a source name: 1 to {SOURCE_MAX_LENGTH} letters, digits and _ . : -"


# external ids Leadbot digests from what a web form posted (the person's data, hashed)
FORM_ID_PREFIX = "form:"
# external ids Leadbot digests from a CSV row that has none (the person's data, hashed)
CSV_ID_PREFIX = "csv:"
# external ids made of the person's data, which go when their data is erased
DIGEST_ID_PREFIXES = (FORM_ID_PREFIX, CSV_ID_PREFIX)
# external ids Leadbot makes of an API key and its Idempotency-Key; clients may not send one
IDEMPOTENCY_PREFIX = "idem:"


def idempotency_id(api_key: str, header: str) -> str:
    """The external id of a lead sent with an Idempotency-Key and no id of its own: a digest
    of the key's name and the header, so no two (key, header) pairs share one, however long
    or whatever characters they hold."""
    pair = json.dumps([api_key, header], ensure_ascii=False)  # unambiguous, unlike a join
    return IDEMPOTENCY_PREFIX + hashlib.sha256(pair.encode()).hexdigest()


@dataclass(frozen=True)
class Contact:
    """Personal data of a lead: shown only to the partner that accepted it."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    street: str | None = None
    erased: str | None = None  # why the fields are empty: "request" (leadbot erase), "retention"
    consent: bool | None = None  # agreed to be contacted by a partner (None: not said)

    def values(self) -> list[str]:
        """The personal values held, for redacting copies of them elsewhere."""
        return [v for v in (self.name, self.email, self.phone, self.company, self.street) if v]


@dataclass(frozen=True)
class NewLead:
    """A lead as it arrives, before it is stored."""

    source: str
    country: str
    postcode: str
    external_id: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    specialties: tuple[str, ...] = ()
    need: str | None = None
    temperature: Temperature | None = None
    qualification: Qualification | None = None
    estimated_value: float | None = None
    language: str | None = None
    contact: Contact = field(default_factory=Contact)
    # a fingerprint of the request that carried it, when the client's Idempotency-Key names
    # it: a repeat of the key must carry the same request
    request_digest: str | None = None


@dataclass(frozen=True)
class Lead:
    """A stored lead (teaser fields only; the contact is loaded separately)."""

    id: int
    public_id: str
    source: str
    external_id: str | None
    received_at: datetime
    country: str
    postcode: str
    city: str | None
    lat: float | None
    lon: float | None
    specialties: tuple[str, ...]
    need: str | None
    temperature: str | None
    qualification: str | None
    estimated_value: float | None
    status: DispatchStatus
    stage: Stage
    partner_id: int | None
    policy_version: int
    round: int
    stage_value: float | None = None
    lost_reason: str | None = None
    language: str | None = None
    held_until: datetime | None = None
