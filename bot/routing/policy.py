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
from typing import Any, Protocol

from bot.domain.partners import PartnerFacts, PartnerStatus, normalize_postcode
from bot.routing.territory import first_covering

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Filter(StrEnum):
    """Hard filters, in the order they are applied (recorded in explanations)."""

    ACTIVE = "active"
    TERRITORY = "territory"
    SPECIALTIES = "specialties"
    CAPACITY = "capacity"
    ALREADY_OFFERED = "already_offered"


@dataclass(frozen=True)
class LeadFacts:
    country: str
    postcode: str
    specialties: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None


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
    ) -> Decision: ...


def _verdict(p: PartnerFacts, lead: LeadFacts, exclude: set[int], now: datetime) -> Verdict:
    postcode = normalize_postcode(lead.postcode)
    if p.status is not PartnerStatus.ACTIVE or (p.paused_until and p.paused_until > now):
        return Verdict(p, Filter.ACTIVE, f"{p.slug} is {p.status}")
    rule = first_covering(
        p.territories, country=lead.country, postcode=postcode, lat=lead.lat, lon=lead.lon
    )
    if rule is None:
        return Verdict(p, Filter.TERRITORY, f"{lead.country}-{postcode} is outside its territory")
    missing = [s for s in lead.specialties if s not in p.specialties]
    if missing:
        return Verdict(p, Filter.SPECIALTIES, f"does not do {', '.join(missing)}")
    if p.open_leads >= p.capacity:
        return Verdict(p, Filter.CAPACITY, f"at capacity ({p.open_leads} of {p.capacity} open)")
    if p.id in exclude:
        return Verdict(p, Filter.ALREADY_OFFERED, "was already offered this lead")
    parts = [f"{postcode} is in your area ({rule})"]
    parts += list(lead.specialties)
    parts.append(f"{p.open_leads} of {p.capacity} open")
    return Verdict(p, None, " · ".join(parts))


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
    ) -> Decision:
        """Pick up to `count` partners for `lead`, recording why each was kept or dropped."""
        verdicts = [_verdict(p, lead, exclude, now) for p in partners]
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
            winner = max(
                tier,
                key=lambda p: (
                    currents[p.id],
                    -(p.last_offered_at or _EPOCH).timestamp(),
                    -p.weight,
                    p.slug,
                ),
            )
            currents[winner.id] -= total
            chosen.append(winner)
            pool.remove(winner)
        why = {v.partner.id: v.reason for v in verdicts if v.dropped_by is None}
        touched = {pid: cur for pid, cur in currents.items() if cur != before[pid]}
        return Decision(chosen=chosen, why=why, verdicts=verdicts, rotation=touched)
