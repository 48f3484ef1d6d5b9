"""Property test: random interleavings of presses, timeouts and manual assigns keep every rule.

- a lead never has two accepted offers;
- an offer never changes state after it left `pending`;
- every offer transition has exactly one event;
- the lead's dispatch status always matches its offers.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.bootstrap import build
from bot.clock import FakeClock
from bot.config import Settings
from bot.dispatch import accept_offer, assign_lead, decline_offer
from bot.domain.events import OFFER_EVENT
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferMode, OfferStatus
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, apply, config, lead, partner
from tests.fakes import RecordingMessenger

SLUGS = ["pa", "pb", "pc", "pd"]
TRANSITIONS = {"offered", "assigned", *OFFER_EVENT.values()}
Action = st.one_of(
    st.tuples(st.just("accept"), st.integers(0, 3)),
    st.tuples(st.just("decline"), st.integers(0, 3)),
    st.tuples(st.just("double"), st.integers(0, 3)),
    st.tuples(st.just("race"), st.integers(0, 3)),
    st.tuples(st.just("assign"), st.integers(0, 3)),
    st.just(("expire", 0)),
    st.just(("deliver", 0)),
)


async def _check(uow, lead_id, seen: dict[int, OfferStatus]) -> None:
    lead_row = await uow.leads.get(lead_id)
    offers = await uow.offers.list_for_lead(lead_id)
    events = await uow.events.list_for_lead(lead_id)
    accepted = [o for o in offers if o.status is OfferStatus.ACCEPTED]
    pending = [o for o in offers if o.status is OfferStatus.PENDING]
    assert len(accepted) <= 1
    for o in offers:
        before = seen.get(o.id)
        assert before in (None, OfferStatus.PENDING, o.status), (o.id, before, o.status)
        seen[o.id] = o.status
        # transitions only: deliveries and reminders are logged too, but change no state
        mine = [e.kind for e in events if e.offer_id == o.id and e.kind in TRANSITIONS]
        if o.mode is OfferMode.MANUAL:
            assert mine == ["assigned"]
        elif o.status is OfferStatus.PENDING:
            assert mine == ["offered"]
        else:
            assert mine == ["offered", OFFER_EVENT[o.status]], (o, mine)
    status = lead_row.status
    if status in (DispatchStatus.ACCEPTED, DispatchStatus.CLOSED):
        assert len(accepted) == 1 and accepted[0].partner_id == lead_row.partner_id
        assert not pending
    elif status is DispatchStatus.OFFERED:
        assert pending and not accepted
    elif status is DispatchStatus.UNASSIGNED:
        assert not pending and not accepted
        assert [e.kind for e in events].count("unassigned") == 1
    else:
        assert not offers


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(Action, min_size=1, max_size=12), broadcast=st.booleans())
def test_random_interleavings_keep_the_invariants(database_url, actions, broadcast):
    asyncio.run(_run(database_url, actions, broadcast))


async def _run(database_url: str, actions, broadcast: bool) -> None:
    clock = FakeClock()
    services = build(
        Settings(database_url=database_url, _env_file=None),  # type: ignore[call-arg]
        messengers={"slack": RecordingMessenger("slack")},
        clock=clock,
    )
    try:
        mode = "broadcast" if broadcast else "exclusive"
        # each example applies its own policy version; older leads keep theirs
        await apply(
            services,
            config(
                [partner(s, capacity=10_000) for s in SLUGS],
                mode=mode,
                broadcast_size=2,
                max_rounds=3,
            ),
        )
        stored, _, _ = await services.submit_lead(lead(None), actor=SYSTEM, source=SRC)
        actors = {}
        async with services.uow() as uow:
            for s in SLUGS:
                actors[s] = await uow.members.find_actor(
                    platform="slack", external_id=f"U{s.upper()}"
                )
        seen: dict[int, OfferStatus] = {}
        for kind, index in actions:
            async with services.uow() as uow:
                offers = await uow.offers.list_for_lead(stored.id)
            target = offers[index % len(offers)] if offers else None
            slug_of = {a.partner_id: s for s, a in actors.items()}
            if kind == "deliver":
                await deliver_all(services)
            elif kind == "expire":
                await deliver_all(services)
                clock.advance(timedelta(minutes=31))
                await services.scheduler.sweep()
            elif kind == "assign":
                await services.run(
                    assign_lead,
                    lead_id=stored.id,
                    partner_slug=SLUGS[index],
                    actor=MANAGER,
                    source=SRC,
                )
            elif target is not None:
                actor = actors[slug_of[target.partner_id]]
                if kind == "accept":
                    await services.run(accept_offer, offer_id=target.id, actor=actor, source=SRC)
                elif kind == "decline":
                    await services.run(
                        decline_offer,
                        offer_id=target.id,
                        actor=actor,
                        reason="not_a_fit",
                        source=SRC,
                    )
                elif kind == "double":
                    await asyncio.gather(
                        *(
                            services.run(accept_offer, offer_id=target.id, actor=actor, source=SRC)
                            for _ in range(2)
                        )
                    )
                else:  # a press racing the timer
                    clock.advance(timedelta(minutes=31))
                    await asyncio.gather(
                        services.run(accept_offer, offer_id=target.id, actor=actor, source=SRC),
                        services.scheduler.sweep(),
                    )
            async with services.uow() as uow:
                await _check(uow, stored.id, seen)
    finally:
        await services.close()
