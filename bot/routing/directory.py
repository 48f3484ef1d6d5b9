"""The partner directory: every partner's standing facts from leadbot.yaml, and the index.

Built once per policy version (pure); what changes between decisions (status, capacity in
use, rotation) is read fresh from the database and merged in with `with_state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.hours import parse_hours
from bot.domain.partners import (
    PartnerFacts,
    PartnerStatus,
    TerritoryKind,
    parse_territory,
    with_live,
)
from bot.policy_fields import parse_location
from bot.policy_file import LeadbotConfig, Partner
from bot.routing.index import TerritoryIndex


@dataclass(frozen=True)
class Directory:
    version: int
    partners: dict[int, PartnerFacts]
    ids: dict[str, int]  # slug -> id
    index: TerritoryIndex

    def with_state(self, pid: int, state: Mapping[str, Any]) -> PartnerFacts:
        """The partner's standing facts with the live state read for this decision."""
        return with_live(self.partners[pid], state)


def partner_facts(pid: int, p: Partner) -> PartnerFacts:
    """Standing facts of one partner as written in leadbot.yaml."""
    rules = tuple(parse_territory(t) for t in p.territories)
    location = (
        parse_location(p.location)
        if p.location
        else next(((t.lat, t.lon) for t in rules if t.kind is TerritoryKind.RADIUS), None)
    )
    return PartnerFacts(
        id=pid,
        slug=p.slug,
        name=p.name,
        status=PartnerStatus.PAUSED if p.paused else PartnerStatus.ACTIVE,
        capacity=p.capacity,
        weight=p.weight,
        priority=p.priority,
        specialties=frozenset(p.specialties),
        territories=rules,
        languages=frozenset(p.languages),
        timezone=p.timezone,
        hours=parse_hours(p.hours),
        holidays=frozenset(p.holidays),
        daily_cap=p.daily_cap,
        location=location,  # type: ignore[arg-type]
    )


def build_directory(
    config: LeadbotConfig, *, version: int, ids: Mapping[str, int] | None = None
) -> Directory:
    """Index every partner of `config`; `ids` maps slugs to stored ids (synthetic if absent)."""
    synthetic = count(-1, -1)
    partners: dict[int, PartnerFacts] = {}
    index = TerritoryIndex()
    slugs: dict[str, int] = {}
    for p in config.partners:
        pid = ids[p.slug] if ids and p.slug in ids else next(synthetic)
        facts = partner_facts(pid, p)
        partners[pid] = facts
        slugs[p.slug] = pid
        for rule in facts.territories:
            index.add(pid, rule)
    return Directory(version=version, partners=partners, ids=slugs, index=index)


def local_midnight(tz: str, at: datetime) -> datetime:
    """Start of the partner's local day containing `at`, for daily caps."""
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    return datetime.combine(local.date(), datetime.min.time(), tzinfo=zone)


def start_of(day: date, tz: str) -> datetime:
    """The first moment of `day` in time zone `tz` (for 'paused until DATE')."""
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tz))
