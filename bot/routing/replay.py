"""Replay: run stored leads through a policy without sending anything (pure).

Answers "what would this rule set have done with last quarter's leads?": the share each
partner would get against what it actually got, and which leads would reach nobody, and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.routing.directory import Directory, local_midnight
from bot.routing.policy import Decision, Filter, LeadFacts, RoutingOptions, RoutingPolicy


@dataclass(frozen=True)
class ReplayLead:
    facts: LeadFacts
    received_at: datetime
    actual: str | None  # slug of the partner that ended up with it


@dataclass
class ReplayReport:
    total: int = 0
    would_get: Counter[str] = field(default_factory=Counter)
    actually_got: Counter[str] = field(default_factory=Counter)
    unassigned: Counter[str] = field(default_factory=Counter)

    def rows(self) -> list[tuple[str, int, float, int, float]]:
        """(partner, would get, share, actually got, share), busiest first."""
        slugs = set(self.would_get) | set(self.actually_got)
        n = self.total or 1
        rows = [
            (
                s,
                self.would_get[s],
                self.would_get[s] / n,
                self.actually_got[s],
                self.actually_got[s] / n,
            )
            for s in slugs
        ]
        return sorted(rows, key=lambda r: (-r[1], r[0]))


def unassigned_reason(decision: Decision) -> str:
    dropped = Counter(v.dropped_by for v in decision.verdicts if v.dropped_by)
    if not dropped:
        return "no partner covers it"
    top, _ = dropped.most_common(1)[0]
    return {
        Filter.ACTIVE: "every candidate paused",
        Filter.TERRITORY: "no partner covers it",
        Filter.SPECIALTIES: "nobody does the specialty",
        Filter.LANGUAGE: "nobody speaks it",
        Filter.CAPACITY: "everyone at capacity",
        Filter.DAILY_CAP: "daily caps reached",
        Filter.REACHABLE: "no reachable chat",
        Filter.HOURS: "everyone closed",
        Filter.ALREADY_OFFERED: "everyone tried",
    }[top]


def replay(
    directory: Directory,
    leads: list[ReplayLead],
    *,
    router: RoutingPolicy,
    options: RoutingOptions,
    open_leads: dict[str, int],
) -> ReplayReport:
    """First offer of every lead under `directory`'s partners, rotation simulated in memory.

    Capacity in use is taken as it is today; a held lead is decided again when the first
    candidate opens.
    """
    report = ReplayReport(total=len(leads))
    state = {pid: p for pid, p in directory.partners.items()}
    daily: Counter[tuple[int, datetime]] = Counter()
    for lead in sorted(leads, key=lambda item: item.received_at):
        if lead.actual:
            report.actually_got[lead.actual] += 1
        f = lead.facts
        covering = directory.index.covering(
            country=f.country, postcode=f.postcode, lat=f.lat, lon=f.lon
        )
        at = lead.received_at
        for _attempt in range(2):
            partners = [
                replace(
                    state[pid],
                    open_leads=open_leads.get(state[pid].slug, 0),
                    offers_today=daily[(pid, local_midnight(state[pid].timezone, at))],
                )
                for pid in sorted(covering)
            ]
            decision = router.decide(
                f, partners, exclude=set(), count=1, now=at, covering=covering, options=options
            )
            if decision.chosen or decision.hold_until is None:
                break
            at = decision.hold_until
        for pid, current in decision.rotation.items():
            state[pid] = replace(state[pid], rr_current=current)
        if not decision.chosen:
            report.unassigned[unassigned_reason(decision)] += 1
            continue
        winner = decision.chosen[0]
        state[winner.id] = replace(state[winner.id], last_offered_at=at)
        daily[(winner.id, local_midnight(winner.timezone, at))] += 1
        report.would_get[winner.slug] += 1
    return report
