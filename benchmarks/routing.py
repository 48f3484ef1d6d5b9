"""B1: routing decisions per second with 5,000 partners and 50,000 territory rules.

Prints one JSON line: decisions/s through the territory index and the policy (the median of
several rounds over the same leads), and the same decisions with the index replaced by a
linear scan of the same rules (the baseline), measured in the same run on one core.
Target: >= 20,000 decisions/s and >= 100x the scan.

    python -m benchmarks.routing [--partners 5000] [--leads 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from datetime import UTC, datetime

from bot.domain.partners import PartnerFacts, PartnerStatus, Territory, parse_territory
from bot.routing.index import TerritoryIndex
from bot.routing.policy import LeadFacts, RoutingOptions, WeightedRotation
from bot.routing.territory import covers

SPECIALTIES = ["heat-pump", "solar", "battery", "ventilation", "boiler"]
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def coords(postcode: int) -> tuple[float, float]:
    """A made-up but stable position for a postcode, spread over a Germany-sized box."""
    return 47.3 + (postcode % 1000) / 1000 * 7.7, 5.9 + (postcode // 1000) / 100 * 9.1


def make_partners(n: int, rng: random.Random) -> list[PartnerFacts]:
    """Local partners: ten rules each around a home postcode (prefixes, ranges, one radius)."""
    partners = []
    for pid in range(1, n + 1):
        home = rng.randrange(1000, 99_000)
        text = f"{home:05d}"
        rules = [f"DE:{text[:4]}", f"DE:{text[:3]}{rng.randrange(10)}"]
        rules += [f"DE:{rng.randrange(1000, 99_999):05d}"[:7] for _ in range(4)]
        for _ in range(3):
            start = min(98_000, max(0, home + rng.randrange(-3000, 3000)))
            rules.append(f"DE:{start:05d}-{min(99_999, start + rng.randrange(50, 600)):05d}")
        lat, lon = coords(home)
        rules.append(f"DE:radius:{lat:.3f},{lon:.3f}:{rng.randrange(5, 25)}km")
        partners.append(
            PartnerFacts(
                id=pid,
                slug=f"p{pid}",
                name=f"Partner {pid}",
                status=PartnerStatus.ACTIVE,
                capacity=rng.randrange(5, 50),
                weight=rng.randrange(1, 4),
                priority=rng.choice([1, 1, 1, 2]),
                specialties=frozenset(rng.sample(SPECIALTIES, 3)),
                territories=tuple(parse_territory(r) for r in rules),
                open_leads=rng.randrange(0, 5),
                rr_current=rng.uniform(-5, 5),
            )
        )
    return partners


def make_leads(n: int, rng: random.Random) -> list[LeadFacts]:
    leads = []
    for _ in range(n):
        postcode = rng.randrange(1000, 99_999)
        lat, lon = coords(postcode) if rng.random() < 0.5 else (None, None)
        leads.append(LeadFacts("DE", f"{postcode:05d}", (rng.choice(SPECIALTIES),), lat, lon))
    return leads


def scan(rules: list[tuple[int, Territory]], lead: LeadFacts) -> dict[int, Territory]:
    """The baseline: check every rule of every partner."""
    found: dict[int, Territory] = {}
    for pid, rule in rules:
        if pid not in found and covers(
            rule, country=lead.country, postcode=lead.postcode, lat=lead.lat, lon=lead.lon
        ):
            found[pid] = rule
    return found


def run(partners: list[PartnerFacts], leads: list[LeadFacts], lookup) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Decisions per second with `lookup` finding the covering partners."""
    policy, options = WeightedRotation(), RoutingOptions()
    by_id = {p.id: p for p in partners}
    candidates = 0
    started = time.perf_counter()
    for lead in leads:
        covering = lookup(lead)
        chosen = [by_id[pid] for pid in covering]
        candidates += len(chosen)
        policy.decide(
            lead, chosen, exclude=set(), count=1, now=NOW, covering=covering, options=options
        )
    return len(leads) / (time.perf_counter() - started), candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=5000)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--scan-leads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5, help="index rounds; the median counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    partners = make_partners(args.partners, rng)
    rules = [(p.id, t) for p in partners for t in p.territories]
    leads = make_leads(args.leads, rng)

    built = time.perf_counter()
    index = TerritoryIndex()
    for pid, rule in rules:
        index.add(pid, rule)
    build_s = time.perf_counter() - built

    def indexed(lead: LeadFacts) -> dict[int, Territory]:
        return index.covering(
            country=lead.country, postcode=lead.postcode, lat=lead.lat, lon=lead.lon
        )

    rounds = [run(partners, leads, indexed) for _ in range(args.rounds)]
    candidates = rounds[0][1]
    fast = statistics.median(rate for rate, _ in rounds)  # the VM's neighbours add noise
    slow, _ = run(partners, leads[: args.scan_leads], lambda lead: scan(rules, lead))
    # same answers: the index finds exactly the partners the scan finds
    mismatches = sum(
        indexed(lead).keys() != scan(rules, lead).keys() for lead in leads[: args.scan_leads]
    )
    print(
        json.dumps(
            {
                "benchmark": "B1 routing",
                "partners": len(partners),
                "territory_rules": len(rules),
                "decisions_per_s": round(fast),
                "rounds_per_s": [round(rate) for rate, _ in rounds],
                "baseline_linear_scan_per_s": round(slow, 1),
                "speedup": round(fast / slow, 1),
                "avg_candidates": round(candidates / len(leads), 1),
                "index_build_s": round(build_s, 3),
                "mismatches_vs_scan": mismatches,
                "targets": {"decisions_per_s": 20_000, "speedup": 100},
                "met": fast >= 20_000 and fast / slow >= 100 and mismatches == 0,
                "machine": f"{platform.machine()} {platform.processor() or ''} "
                f"Python {platform.python_version()}".strip(),
            }
        )
    )


if __name__ == "__main__":
    main()
