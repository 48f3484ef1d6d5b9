"""Races end with exactly one winner and a clear answer for everyone else (both databases)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.dispatch import accept_offer, assign_lead, expire_offer
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferStatus
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner


async def test_fifty_partners_tap_accept_on_one_broadcast_lead(services):
    partners = [partner(f"p{i:02d}") for i in range(50)]
    await apply(services, config(partners, mode="broadcast", broadcast_size=50))
    stored, _, offer_ids = await services.submit_lead(lead("b-1"), actor=SYSTEM, source=SRC)
    assert len(offer_ids) == 50
    await deliver_all(services)
    async with services.uow() as uow:
        offers = await uow.offers.list_for_lead(stored.id)
    actors = {o.id: await actor_for(services, f"UP{i:02d}") for i, o in enumerate(offers)}
    # every offer belongs to partner p{i}: match actor to offer by partner id
    by_partner = {a.partner_id: a for a in actors.values()}
    outcomes = await asyncio.gather(
        *(
            services.run(accept_offer, offer_id=o.id, actor=by_partner[o.partner_id], source=SRC)
            for o in offers
        )
    )
    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if not o.ok]
    assert len(winners) == 1 and len(losers) == 49
    assert all(o.message.startswith("Already taken by ") for o in losers), losers[:3]
    async with services.uow() as uow:
        statuses = [o.status for o in await uow.offers.list_for_lead(stored.id)]
        final = await uow.leads.get(stored.id)
    assert statuses.count(OfferStatus.ACCEPTED) == 1
    assert statuses.count(OfferStatus.WITHDRAWN) == 49
    assert final.status is DispatchStatus.ACCEPTED


async def test_expiry_racing_accept_has_exactly_one_winner(services, clock):
    await apply(services, config([partner("acme"), partner("beta")]))
    bob = await actor_for(services, "UACME")
    beta = await actor_for(services, "UBETA")
    tally = {"accepted": 0, "expired": 0}
    for i in range(20):
        stored, _, (offer_id,) = await services.submit_lead(
            lead(f"r-{i}"), actor=SYSTEM, source=SRC
        )
        await deliver_all(services)
        clock.advance(timedelta(minutes=31))
        async with services.uow() as uow:
            offer = await uow.offers.get(offer_id)
        who = bob if offer.partner_id == bob.partner_id else beta
        expired, accepted = await asyncio.gather(
            services.run(expire_offer, offer_id=offer_id),
            services.run(accept_offer, offer_id=offer_id, actor=who, source=SRC),
        )
        assert expired != accepted.ok, (i, expired, accepted)
        tally["accepted" if accepted.ok else "expired"] += 1
        if not accepted.ok:
            assert accepted.message == "This offer expired and was passed on."
        async with services.uow() as uow:
            final = await uow.offers.get(offer_id)
            events = [
                e
                for e in await uow.events.list_for_lead(stored.id)
                if e.offer_id == offer_id and e.kind in ("accepted", "expired")
            ]
        assert len(events) == 1 and events[0].kind == final.status
    assert sum(tally.values()) == 20


async def test_double_tap_accepts_once(services):
    await apply(services, config([partner("acme")]))
    stored, _, (offer_id,) = await services.submit_lead(lead("dt"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    first, second = await asyncio.gather(
        services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC),
        services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC),
    )
    assert sorted([first.ok, second.ok]) == [False, True]
    assert "Already accepted by Rep acme." in (first.message, second.message)
    async with services.uow() as uow:
        events = await uow.events.list_for_lead(stored.id)
    assert [e.kind for e in events].count("accepted") == 1


async def test_manual_assign_racing_accept(services):
    await apply(services, config([partner("acme"), partner("beta")]))
    for i in range(10):
        stored, _, (offer_id,) = await services.submit_lead(
            lead(f"ma-{i}"), actor=SYSTEM, source=SRC
        )
        async with services.uow() as uow:
            offer = await uow.offers.get(offer_id)
        offered_slug = (
            "acme"
            if (await actor_for(services, "UACME")).partner_id == offer.partner_id
            else "beta"
        )
        other = "beta" if offered_slug == "acme" else "acme"
        rep = await actor_for(services, f"U{offered_slug.upper()}")
        assigned, accepted = await asyncio.gather(
            services.run(
                assign_lead, lead_id=stored.id, partner_slug=other, actor=MANAGER, source=SRC
            ),
            services.run(accept_offer, offer_id=offer_id, actor=rep, source=SRC),
        )
        assert assigned.ok != accepted.ok, (assigned, accepted)
        async with services.uow() as uow:
            offers = await uow.offers.list_for_lead(stored.id)
            final = await uow.leads.get(stored.id)
        accepted_offers = [o for o in offers if o.status is OfferStatus.ACCEPTED]
        assert len(accepted_offers) == 1
        assert final.partner_id == accepted_offers[0].partner_id


async def test_accepts_racing_for_a_partners_last_place_take_it_once(services):
    """Capacity 2, one lead already held: of four Accepts at once (each on its own lead), one
    takes the last place and three are told the partner is at capacity (PostgreSQL runs them
    side by side: the count is taken under the partner's row lock)."""
    await apply(services, config([partner("acme", capacity=2)]))
    offer_ids = []
    for i in range(5):
        _, _, (offer_id,) = await services.submit_lead(lead(f"cap-{i}"), actor=SYSTEM, source=SRC)
        offer_ids.append(offer_id)
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_ids[0], actor=bob, source=SRC)).ok
    outcomes = await asyncio.gather(
        *(services.run(accept_offer, offer_id=o, actor=bob, source=SRC) for o in offer_ids[1:])
    )
    assert sum(o.ok for o in outcomes) == 1, [o.message for o in outcomes]
    assert all("at capacity (2 of 2" in o.message for o in outcomes if not o.ok)
    async with services.uow() as uow:
        used, capacity = await uow.partners.capacity_in_use(bob.partner_id)
    assert (used, capacity) == (2, 2)


async def test_a_partners_capacity_is_counted_under_its_row_lock(services):
    """What makes the race above safe, shown without relying on timing: while one Accept holds
    the count, another Accept for the same partner waits for it, then sees its lead."""
    await apply(services, config([partner("acme", capacity=2)]))
    _, _, (first,) = await services.submit_lead(lead("lock-1"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    async with services.uow() as holding:
        assert await holding.partners.capacity_in_use(bob.partner_id) == (0, 2)

        async def second_count() -> tuple[int, int]:
            async with services.uow() as uow:
                return await uow.partners.capacity_in_use(bob.partner_id)

        waiting = asyncio.create_task(second_count())
        done, _ = await asyncio.wait({waiting}, timeout=0.5)  # it must not get past the lock
        assert not done
        assert (await accept_offer(holding, services.ctx, offer_id=first, actor=bob, source=SRC)).ok
    assert await waiting == (1, 2)
