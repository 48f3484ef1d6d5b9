"""The routing policy: hard filters in a fixed order, then priority and smooth weighted rotation.

Smooth weighted round robin (as in nginx): each pick adds every candidate's weight to its
running score, takes the highest, and subtracts the total from the winner. Over time a partner
with weight 2 gets twice the offers of weight 1, interleaved rather than in a row. Ties go to
the partner offered least recently, never to the oldest partner. A broadcast picks several
partners in one turn: each is credited its share of the turn once, and the highest scores win.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from bot.domain.partners import PartnerFacts, PartnerStatus, Territory, TerritoryKind
from bot.routing.hours import is_open, next_opening
from bot.routing.territory import distance_km, first_covering

_ACTIVE = PartnerStatus.ACTIVE


class Filter(StrEnum):
    """Hard filters, in the order they are applied (recorded in explanations)."""

    ACTIVE = "active"
    TERRITORY = "territory"
    SPECIALTIES = "specialties"
    LANGUAGE = "language"
    CAPACITY = "capacity"
    DAILY_CAP = "daily_cap"
    ALREADY_OFFERED = "already_offered"
    REACHABLE = "reachable"
    HOURS = "hours"


@dataclass(frozen=True)
class RoutingOptions:
    out_of_hours: Literal["hold", "skip", "offer"] = "skip"
    prefer: Literal["fair", "nearest"] = "fair"


@dataclass(frozen=True)
class LeadFacts:
    country: str
    postcode: str  # normalised
    specialties: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    language: str | None = None


class Verdict:
    """One candidate's outcome; the reason text is only built when someone reads it."""

    __slots__ = ("partner", "dropped_by", "rule", "_lead", "_now")

    def __init__(
        self,
        partner: PartnerFacts,
        dropped_by: Filter | None,
        rule: Territory | None,
        lead: LeadFacts,
        now: datetime,
    ) -> None:
        self.partner, self.dropped_by, self.rule = partner, dropped_by, rule
        self._lead, self._now = lead, now

    @property
    def reason(self) -> str:
        return describe(self.partner, self.dropped_by, self._lead, self.rule, self._now)


@dataclass
class Decision:
    chosen: list[PartnerFacts]
    raw: list[tuple[PartnerFacts, Filter | None, Territory | None]]  # (partner, filter, rule)
    lead: LeadFacts
    now: datetime
    rotation: dict[int, float] = field(default_factory=dict)  # new rr_current to persist
    hold_until: datetime | None = None  # everyone eligible is closed: wait until then
    outside: int = 0  # partners not covering the lead, left out before the filters ran
    notes: list[str] = field(default_factory=list)

    @cached_property
    def verdicts(self) -> list[Verdict]:
        """Every candidate with the filter that dropped it (None: eligible), in input order."""
        return [Verdict(p, f, rule, self.lead, self.now) for p, f, rule in self.raw]

    @property
    def eligible(self) -> list[PartnerFacts]:
        return [p for p, f, _rule in self.raw if f is None]

    @cached_property
    def reasons(self) -> dict[int, str]:
        """Partner id -> why it was kept (the line shown on its card) or dropped, each
        worded once however many readers ask."""
        return {v.partner.id: v.reason for v in self.verdicts}

    @property
    def why(self) -> dict[int, str]:
        """Partner id -> the one line shown on its card, for every eligible partner."""
        reasons = self.reasons
        return {p.id: reasons[p.id] for p, f, _rule in self.raw if f is None}

    def explanation(self) -> dict[str, Any]:
        """A JSON-able record of the decision, stored with the lead."""
        reasons = self.reasons
        return {
            "chosen": [p.slug for p in self.chosen],
            "why": {p.slug: reasons[p.id] for p in self.chosen},
            "considered": [
                {"partner": v.partner.slug, "filter": v.dropped_by, "reason": reasons[v.partner.id]}
                for v in self.verdicts
            ],
            "outside_territory": self.outside,
            "notes": self.notes,
            "hold_until": self.hold_until.isoformat() if self.hold_until else None,
        }


class RoutingPolicy(Protocol):
    def decide(
        self,
        lead: LeadFacts,
        partners: list[PartnerFacts],
        *,
        exclude: set[int],
        count: int,
        now: datetime,
        covering: dict[int, Territory] | None = None,
        options: RoutingOptions = RoutingOptions(),
    ) -> Decision: ...


def describe(
    p: PartnerFacts,
    dropped_by: Filter | None,
    lead: LeadFacts,
    rule: Territory | None,
    now: datetime,
) -> str:
    """Say why `check` decided as it did, in words a manager (or the partner) can read."""
    if dropped_by is Filter.ACTIVE:
        if p.status is not PartnerStatus.ACTIVE:
            return f"{p.slug} is {p.status}"
        return f"paused until {p.paused_until:%Y-%m-%d %H:%M} UTC"
    if dropped_by is Filter.TERRITORY:
        reason = f"{lead.country}-{lead.postcode} is outside its territory"
        if lead.lat is None and any(t.kind is TerritoryKind.RADIUS for t in p.territories):
            reason += " (its radius rules need coordinates, and this lead has none)"
        return reason
    if dropped_by is Filter.SPECIALTIES:
        return f"does not do {', '.join(s for s in lead.specialties if s not in p.specialties)}"
    if dropped_by is Filter.LANGUAGE:
        return f"does not speak {lead.language}"
    if dropped_by is Filter.CAPACITY:
        return f"at capacity ({p.open_leads} of {p.capacity} open)"
    if dropped_by is Filter.DAILY_CAP:
        return f"daily cap reached ({p.offers_today} today)"
    if dropped_by is Filter.ALREADY_OFFERED:
        return "was already offered this lead"
    if dropped_by is Filter.REACHABLE:
        return "no chat to send it to: every chat of it is marked broken"
    if dropped_by is Filter.HOURS:
        if now.astimezone(ZoneInfo(p.timezone)).date() in p.holidays:
            return "closed today: one of its holidays"
        return "outside its working hours"
    parts = [f"{lead.postcode} is in your area ({rule})", *lead.specialties]
    if lead.language and p.languages:
        parts.append(f"speaks {lead.language}")
    parts.append(f"{p.open_leads} of {p.capacity} open")
    if not is_open(p.hours, p.timezone, p.holidays, now):
        parts.append("sent outside your working hours")
    return " · ".join(parts)


def _tiebreak(p: PartnerFacts) -> tuple[float, int, str]:
    """Equal scores: the partner offered least recently first (never the oldest partner)."""
    return (-p.last_offered_at.timestamp() if p.last_offered_at else 0.0, -p.weight, p.slug)


def _distance(p: PartnerFacts, lead: LeadFacts) -> float:
    if p.location is None or lead.lat is None or lead.lon is None:
        return float("inf")
    return distance_km(lead.lat, lead.lon, *p.location)


def _credits(tier: list[PartnerFacts], picks: int, total: int) -> dict[int, float]:
    """What each partner of `tier` earns in a turn that hands out `picks` offers, in weight
    units: its fair share of the picks times the tier's total weight.

    A fair share is `picks * weight / total`, but a partner takes at most one copy of a lead:
    a share that would be more is one, and the rest is shared among the others by weight.
    """
    credits: dict[int, float] = {}
    left, rest = picks, total
    for p in sorted(tier, key=lambda p: -p.weight):
        if left * p.weight < rest:
            break
        credits[p.id] = total
        left, rest = left - 1, rest - p.weight
    for p in tier:
        if p.id not in credits:
            credits[p.id] = left * p.weight * total / rest
    return credits


def _turn(
    tier: list[PartnerFacts],
    picks: int,
    currents: dict[int, float],
    lead: LeadFacts,
    *,
    nearest: bool,
) -> list[PartnerFacts]:
    """One turn of smooth weighted round robin over a priority tier: `picks` partners.

    Every partner is credited once per turn (its weight, for one pick) and each winner pays the
    tier's total weight, so credits and payments balance. Crediting once per pick instead, as
    broadcasts once did, put one of three equal partners in every round, the others in half.
    """
    total = sum(p.weight for p in tier)
    if picks == 1:  # the usual case, and the hot one: nginx's rule as it is
        winner: PartnerFacts | None = None
        best: Any = None
        for p in tier:
            current = currents[p.id] = p.rr_current + p.weight
            rank = (-_distance(p, lead), current) if nearest else current
            if winner is None or rank > best or (rank == best and _tiebreak(p) > _tiebreak(winner)):
                winner, best = p, rank
        assert winner is not None
        winners = [winner]
    else:
        credits = _credits(tier, picks, total)
        for p in tier:
            currents[p.id] = p.rr_current + credits[p.id]

        def ranked(gained: Callable[[PartnerFacts], float]) -> Callable[[PartnerFacts], Any]:
            def key(p: PartnerFacts) -> Any:
                score = gained(p)
                return ((-_distance(p, lead), score) if nearest else score), _tiebreak(p)

            return key

        winners = sorted(tier, key=ranked(lambda p: currents[p.id]), reverse=True)[:picks]
        # listed in the order single offers would go (what `who` shows): the credit of one pick
        winners.sort(key=ranked(lambda p: p.rr_current + p.weight), reverse=True)
    for p in winners:
        currents[p.id] -= total
    return winners


class WeightedRotation:
    """The default policy: filters, then priority tier, then smooth weighted round robin."""

    def decide(
        self,
        lead: LeadFacts,
        partners: list[PartnerFacts],
        *,
        exclude: set[int],
        count: int,
        now: datetime,
        covering: dict[int, Territory] | None = None,
        options: RoutingOptions = RoutingOptions(),
    ) -> Decision:
        """Pick up to `count` partners for `lead`, recording why each was kept or dropped.

        `covering` (from the territory index) says which partners cover the lead; without it
        every partner's rules are checked.
        """
        needs = frozenset(lead.specialties)
        raw: list[tuple[PartnerFacts, Filter | None, Territory | None]] = []
        pool: list[PartnerFacts] = []
        keep, eligible = raw.append, pool.append
        language, enforce_hours = lead.language, options.out_of_hours != "offer"
        for p in partners:
            if covering is None:
                rule = first_covering(
                    p.territories,
                    country=lead.country,
                    postcode=lead.postcode,
                    lat=lead.lat,
                    lon=lead.lon,
                )
            else:
                rule = covering.get(p.id)
            # the filters, in the order of Filter; this runs once per candidate per decision
            if p.status is not _ACTIVE or (p.paused_until and p.paused_until > now):
                dropped: Filter | None = Filter.ACTIVE
            elif rule is None:
                dropped = Filter.TERRITORY
            elif needs and not needs <= p.specialties:
                dropped = Filter.SPECIALTIES
            elif language and p.languages and language not in p.languages:
                dropped = Filter.LANGUAGE
            elif p.open_leads >= p.capacity:
                dropped = Filter.CAPACITY
            elif p.daily_cap is not None and p.offers_today >= p.daily_cap:
                dropped = Filter.DAILY_CAP
            elif p.id in exclude:
                dropped = Filter.ALREADY_OFFERED
            elif not p.reachable:  # its offer would be undeliverable at once, and cost a round
                dropped = Filter.REACHABLE
            elif (
                enforce_hours
                and (p.hours or p.holidays)
                and not is_open(p.hours, p.timezone, p.holidays, now)
            ):
                dropped = Filter.HOURS
            else:
                dropped = None
                eligible(p)
            keep((p, dropped, rule))
        nearest = options.prefer == "nearest"
        currents: dict[int, float] = {}
        chosen: list[PartnerFacts] = []
        while pool and len(chosen) < count:
            top = min(p.priority for p in pool)
            tier = [p for p in pool if p.priority == top]
            picks = min(count - len(chosen), len(tier))
            chosen += _turn(tier, picks, currents, lead, nearest=nearest)
            pool = [p for p in pool if p.priority != top]
        hold_until = None
        if not chosen and options.out_of_hours == "hold":
            openings = [
                next_opening(p.hours, p.timezone, p.holidays, now)
                for p, f, _rule in raw
                if f is Filter.HOURS
            ]
            hold_until = min((o for o in openings if o is not None), default=None)
        return Decision(chosen, raw, lead, now, rotation=currents, hold_until=hold_until)
