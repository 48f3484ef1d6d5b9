"""One routing decision against the live directory: index lookup, fresh state, the policy."""

from __future__ import annotations

from bot.dispatch.context import Context
from bot.domain.leads import Lead
from bot.domain.partners import TerritoryKind
from bot.policy_file import Policy
from bot.routing.policy import Decision, LeadFacts, RoutingOptions
from bot.store.uow import UnitOfWork


def lead_facts(lead: Lead) -> LeadFacts:
    return LeadFacts(
        lead.country, lead.postcode, lead.specialties, lead.lat, lead.lon, lead.language
    )


def routing_options(policy: Policy) -> RoutingOptions:
    return RoutingOptions(out_of_hours=policy.out_of_hours, prefer=policy.prefer)


async def decide(
    uow: UnitOfWork,
    ctx: Context,
    facts: LeadFacts,
    *,
    exclude: set[int],
    count: int,
    options: RoutingOptions,
    lock: bool,
    version: int = 0,
) -> Decision:
    """Ask the policy about the partners whose territory covers the lead (found by the index).

    With `lock`, the candidates' rows stay locked until commit (so fairness holds across
    instances: concurrent decisions over the same partners take turns).
    """
    directory = await ctx.policies.directory(uow, at_least=version)
    covering = directory.index.covering(
        country=facts.country, postcode=facts.postcode, lat=facts.lat, lon=facts.lon
    )
    now = ctx.now()
    caps = {
        pid: directory.partners[pid].timezone
        for pid in covering
        if directory.partners[pid].daily_cap is not None
    }
    state = await uow.partners.load_state(list(covering), now=now, daily_caps=caps, lock=lock)
    partners = [directory.with_state(pid, state[pid]) for pid in sorted(state)]
    decision = ctx.router.decide(
        facts, partners, exclude=exclude, count=count, now=now, covering=covering, options=options
    )
    decision.outside = len(directory.partners) - len(partners)
    if facts.lat is None:
        unchecked = [
            p.slug
            for pid, p in directory.partners.items()
            if pid not in covering
            and any(
                t.kind is TerritoryKind.RADIUS and t.country == facts.country for t in p.territories
            )
        ]
        if unchecked:
            decision.notes.append(
                f"{len(unchecked)} partner(s) with radius rules ({', '.join(unchecked[:5])}) "
                f"could not be checked: the lead has no coordinates and "
                f"{facts.country}-{facts.postcode} is not in the geocoder"
            )
    return decision
