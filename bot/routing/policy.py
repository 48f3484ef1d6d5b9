"""The routing policy: hard filters in a fixed order, then priority and smooth weighted rotation.

Smooth weighted round robin (as in nginx): each pick adds every candidate's weight to its
running score, takes the highest, and subtracts the total from the winner. Over time a partner
with weight 2 gets twice the offers of weight 1, interleaved rather than in a row. Ties go to
the partner offered least recently, never to the oldest partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from bot.domain.partners import PartnerFacts, PartnerStatus, Territory, TerritoryKind
from bot.routing.hours import is_open, next_opening
from bot.routing.territory import distance_km, first_covering

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Filter(StrEnum):
    """Hard filters, in the order they are applied (recorded in explanations)."""

    ACTIVE = "active"
    TERRITORY = "territory"
    SPECIALTIES = "specialties"
    LANGUAGE = "language"
    CAPACITY = "capacity"
    DAILY_CAP = "daily_cap"
    ALREADY_OFFERED = "already_offered"
    HOURS = "hours"


@dataclass(frozen=True)
class RoutingOptions:
    out_of_hours: Literal["hold", "skip", "offer"] = "hold"
    prefer: Literal["fair", "nearest"] = "fair"


@dataclass(frozen=True)
class LeadFacts:
    country: str
    postcode: str  # normalised
    specialties: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    language: str | None = None


@dataclass(frozen=True)
class Verdict:
    partner: PartnerFacts
    dropped_by: Filter | None
    reason: str


@dataclass
class Decision:
    chosen: list[PartnerFacts]
    why: dict[int, str]  # partner id -> the one line shown on its card
    verdicts: list[Verdict]
    rotation: dict[int, float] = field(default_factory=dict)  # new rr_current to persist
    hold_until: datetime | None = None  # everyone eligible is closed: wait until then
    outside: int = 0  # partners not covering the lead, left out before the filters ran
    notes: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> list[PartnerFacts]:
        return [v.partner for v in self.verdicts if v.dropped_by is None]

    def explanation(self) -> dict[str, Any]:
        """A JSON-able record of the decision, stored with the lead."""
        return {
            "chosen": [p.slug for p in self.chosen],
            "why": {p.slug: self.why[p.id] for p in self.chosen},
            "considered": [
                {"partner": v.partner.slug, "filter": v.dropped_by, "reason": v.reason}
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


def _territory_reason(p: PartnerFacts, lead: LeadFacts) -> str:
    reason = f"{lead.country}-{lead.postcode} is outside its territory"
    if lead.lat is None and any(t.kind is TerritoryKind.RADIUS for t in p.territories):
        reason += " (its radius rules need coordinates, and this lead has none)"
    return reason


def verdict(
    p: PartnerFacts,
    lead: LeadFacts,
    *,
    exclude: set[int],
    now: datetime,
    rule: Territory | None,
    options: RoutingOptions,
) -> Verdict:
    """Run the filters in order on one partner; the first that fails is named with a reason."""
    if p.status is not PartnerStatus.ACTIVE:
        return Verdict(p, Filter.ACTIVE, f"{p.slug} is {p.status}")
    if p.paused_until and p.paused_until > now:
        return Verdict(p, Filter.ACTIVE, f"paused until {p.paused_until:%Y-%m-%d %H:%M} UTC")
    if rule is None:
        return Verdict(p, Filter.TERRITORY, _territory_reason(p, lead))
    missing = [s for s in lead.specialties if s not in p.specialties]
    if missing:
        return Verdict(p, Filter.SPECIALTIES, f"does not do {', '.join(missing)}")
    if lead.language and p.languages and lead.language not in p.languages:
        return Verdict(p, Filter.LANGUAGE, f"does not speak {lead.language}")
    if p.open_leads >= p.capacity:
        return Verdict(p, Filter.CAPACITY, f"at capacity ({p.open_leads} of {p.capacity} open)")
    if p.daily_cap is not None and p.offers_today >= p.daily_cap:
        return Verdict(p, Filter.DAILY_CAP, f"daily cap reached ({p.offers_today} today)")
    if p.id in exclude:
        return Verdict(p, Filter.ALREADY_OFFERED, "was already offered this lead")
    open_now = is_open(p.hours, p.timezone, p.holidays, now)
    if not open_now and options.out_of_hours != "offer":
        return Verdict(p, Filter.HOURS, "outside its working hours")
    parts = [f"{lead.postcode} is in your area ({rule})", *lead.specialties]
    if lead.language and p.languages:
        parts.append(f"speaks {lead.language}")
    parts.append(f"{p.open_leads} of {p.capacity} open")
    if not open_now:
        parts.append("sent outside your working hours")
    return Verdict(p, None, " · ".join(parts))


def _distance(p: PartnerFacts, lead: LeadFacts) -> float:
    if p.location is None or lead.lat is None or lead.lon is None:
        return float("inf")
    return distance_km(lead.lat, lead.lon, *p.location)


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
        verdicts = []
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
            verdicts.append(verdict(p, lead, exclude=exclude, now=now, rule=rule, options=options))
        pool = [v.partner for v in verdicts if v.dropped_by is None]
        currents = {p.id: p.rr_current for p in pool}
        before = dict(currents)
        chosen: list[PartnerFacts] = []
        while pool and len(chosen) < count:
            top = min(p.priority for p in pool)
            tier = [p for p in pool if p.priority == top]
            total = sum(p.weight for p in tier)
            for p in tier:
                currents[p.id] += p.weight
            nearest = options.prefer == "nearest"
            winner = max(
                tier,
                key=lambda p: (
                    -_distance(p, lead) if nearest else 0.0,
                    currents[p.id],
                    -(p.last_offered_at or _EPOCH).timestamp(),
                    -p.weight,
                    p.slug,
                ),
            )
            currents[winner.id] -= total
            chosen.append(winner)
            pool.remove(winner)
        hold_until = None
        if not chosen and options.out_of_hours == "hold":
            openings = [
                next_opening(v.partner.hours, v.partner.timezone, v.partner.holidays, now)
                for v in verdicts
                if v.dropped_by is Filter.HOURS
            ]
            hold_until = min((o for o in openings if o is not None), default=None)
        why = {v.partner.id: v.reason for v in verdicts if v.dropped_by is None}
        touched = {pid: cur for pid, cur in currents.items() if cur != before[pid]}
        return Decision(
            chosen=chosen, why=why, verdicts=verdicts, rotation=touched, hold_until=hold_until
        )
