"""Each race of design.md §4, many trials let loose together (in waves of a hundred): exactly
one winner per lead, the losers told clearly, and the events and states counted afterwards
over the whole database (tests/consistency.py).

Trials per race: 300 on PostgreSQL, where the contenders really run at once on separate
connections and row locks decide; 100 on SQLite (one writer: the order, shuffled, decides).
That keeps the default run short; `LEADBOT_RACE_TRIALS=2000` runs thousands (the figures of
such a run are in docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import Services, build
from bot.dispatch import accept_offer, assign_lead, expire_offer
from bot.domain.actors import Actor
from bot.store.db import is_sqlite
from bot.store.tables import lead_events, leads, offers
from tests.conftest import deliver_all
from tests.consistency import problems
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner
from tests.fakes import RecordingMessenger

BIG = 10**9  # capacity: no partner fills up during the trials
WAVE = 100  # trials let loose at once: thousands at once would only queue for connections


async def together(work: list[Coroutine[Any, Any, Any]], per_trial: int = 1) -> list[Any]:
    """Run `work` in waves of WAVE trials, all of a wave at once; the results in order."""
    done: list[Any] = []
    size = WAVE * per_trial
    for start in range(0, len(work), size):
        done += await asyncio.gather(*work[start : start + size])
    return done


async def race(pairs: list[tuple[Any, Any]], seed: int = 1) -> list[tuple[Any, Any]]:
    """Run every pair of contenders at once, each pair in a random order (on SQLite, with one
    writer, the order decides who wins); the results, in each pair's own order."""
    rng = random.Random(seed)
    swapped, flat = [], []
    for first, second in pairs:
        swapped.append(rng.random() < 0.5)
        flat += [second, first] if swapped[-1] else [first, second]
    done = await together(flat, per_trial=2)
    return [
        (done[2 * i + 1], done[2 * i]) if turned else (done[2 * i], done[2 * i + 1])
        for i, turned in enumerate(swapped)
    ]


def trials(services: Services) -> int:
    given = os.environ.get("LEADBOT_RACE_TRIALS")
    if given:
        return int(given)
    return 100 if is_sqlite(services.settings.database_url) else 300


async def offered(services: Services, n: int, *, deliver: bool = False) -> list[list[int]]:
    """`n` new leads, each routed: the offer ids of each."""
    parallel = 1 if is_sqlite(services.settings.database_url) else 16
    made: list[list[int]] = []

    async def some(start: int) -> None:
        for i in range(start, n, parallel):
            _, _, ids = await services.submit_lead(lead(f"t-{i}"), actor=SYSTEM, source=SRC)
            made.append(ids)

    await asyncio.gather(*(some(s) for s in range(parallel)))
    if deliver:
        await deliver_all(services, rounds=10 * n)
    return made


async def counted(services: Services) -> tuple[Counter[str], Counter[str], list[str]]:
    """Events by kind, leads by status, and whatever is inconsistent."""
    async with services.uow() as uow:
        kinds = Counter((await uow.execute(select(lead_events.c.kind))).scalars())
        statuses = Counter((await uow.execute(select(leads.c.status))).scalars())
        return kinds, statuses, await problems(uow)


async def owner(services: Services, offer_id: int, actors: dict[int, Actor]) -> Actor:
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    return actors[offer.partner_id]


async def reps(services: Services, *slugs: str) -> dict[int, Actor]:
    found = [await actor_for(services, f"U{s.upper()}") for s in slugs]
    return {a.partner_id: a for a in found if a.partner_id is not None}


async def test_double_taps_on_accept(services):
    await apply(services, config([partner("acme", capacity=BIG)]))
    n = trials(services)
    bob = (await reps(services, "acme")).popitem()[1]
    made = await offered(services, n)
    taps = await together(
        [
            services.run(accept_offer, offer_id=oid, actor=bob, source=SRC)
            for (oid,) in made
            for _ in range(3)
        ],
        per_trial=3,
    )
    assert sum(t.ok for t in taps) == n
    assert {t.message for t in taps if not t.ok} == {"Already accepted by Rep acme."}
    kinds, statuses, wrong = await counted(services)
    assert wrong == [] and kinds["accepted"] == n and statuses == {"accepted": n}


async def test_two_partners_on_one_broadcast_offer(services):
    slugs = ("acme", "beta")
    await apply(
        services,
        config([partner(s, capacity=BIG) for s in slugs], mode="broadcast", broadcast_size=2),
    )
    n = trials(services)
    actors = await reps(services, *slugs)
    made = await offered(services, n)
    assert {len(ids) for ids in made} == {2}
    owners = {oid: await owner(services, oid, actors) for ids in made for oid in ids}
    answers = await together(
        [
            services.run(accept_offer, offer_id=oid, actor=who, source=SRC)
            for oid, who in owners.items()
        ],
        per_trial=2,
    )
    assert sum(a.ok for a in answers) == n
    assert {a.message for a in answers if not a.ok} <= {"Already taken by Acme.",
                                                         "Already taken by Beta."}  # fmt: skip
    kinds, statuses, wrong = await counted(services)
    assert wrong == [] and statuses == {"accepted": n}
    assert kinds["accepted"] == n and kinds["withdrawn"] == n


async def test_accept_racing_the_expiry(services, clock):
    slugs = ("acme", "beta")
    await apply(services, config([partner(s, capacity=BIG) for s in slugs], max_rounds=2))
    n = trials(services)
    actors = await reps(services, *slugs)
    made = await offered(services, n, deliver=True)
    clock.advance(timedelta(minutes=31))  # every window has just closed, and the reps press
    owners = {oid: await owner(services, oid, actors) for (oid,) in made}
    results = await race(
        [
            (
                services.run(expire_offer, offer_id=oid),
                services.run(accept_offer, offer_id=oid, actor=who, source=SRC),
            )
            for oid, who in owners.items()
        ]
    )
    accepts = [a for _, a in results]
    assert all(e != a.ok for e, a in results)  # one winner each
    assert {a.message for a in accepts if not a.ok} <= {"This offer expired and was passed on."}
    kinds, statuses, wrong = await counted(services)
    won = sum(a.ok for a in accepts)
    assert wrong == [] and kinds["accepted"] == won and kinds["expired"] == n - won
    assert statuses == Counter(accepted=won, offered=n - won)
    assert kinds["offered"] == n + (n - won)  # each expired lead went on to the other partner


async def test_manual_assign_racing_accept(services):
    slugs = ("acme", "beta")
    await apply(services, config([partner(s, capacity=BIG) for s in slugs]))
    n = trials(services)
    actors = await reps(services, *slugs)
    made = await offered(services, n)
    pairs = []
    async with services.uow() as uow:
        for (oid,) in made:
            offer = await uow.offers.get(oid)
            other = "beta" if actors[offer.partner_id].name == "Rep acme" else "acme"
            assign = services.run(
                assign_lead, lead_id=offer.lead_id, partner_slug=other, actor=MANAGER, source=SRC
            )
            rep = actors[offer.partner_id]
            pairs.append((assign, services.run(accept_offer, offer_id=oid, actor=rep, source=SRC)))
    results = await race(pairs)
    assigned, accepted = [s for s, _ in results], [a for _, a in results]
    assert all(s.ok != a.ok for s, a in results)
    for s, a in results:
        loser = a if s.ok else s
        assert loser.message.startswith(("Already taken by ", "Lead ")), loser.message
    kinds, statuses, wrong = await counted(services)
    assert wrong == [] and statuses == {"accepted": n}
    assert kinds["assigned"] == sum(s.ok for s in assigned)
    assert kinds["accepted"] == sum(a.ok for a in accepted)


@pytest.fixture
async def second(services, clock):
    """A second instance on the same database (its own engine and connections)."""
    other = build(services.settings, messengers={"slack": RecordingMessenger("slack")}, clock=clock)
    yield other
    await other.close()


async def test_two_instances_accepting_and_sweeping_at_once(services, second, clock):
    slugs = ("acme", "beta")
    await apply(services, config([partner(s, capacity=BIG) for s in slugs], max_rounds=2))
    n = trials(services)
    actors = await reps(services, *slugs)
    made = await offered(services, n, deliver=True)
    owners = {oid: await owner(services, oid, actors) for (oid,) in made}
    answers = await race(  # the first half: a double tap landing on both instances
        [
            (
                services.run(accept_offer, offer_id=oid, actor=owners[oid], source=SRC),
                second.run(accept_offer, offer_id=oid, actor=owners[oid], source=SRC),
            )
            for (oid,) in made[: n // 2]
        ]
    )
    assert all(a.ok != b.ok for a, b in answers)
    clock.advance(timedelta(minutes=31))  # the rest: presses on one, both sweeping at once
    late = [
        services.run(accept_offer, offer_id=oid, actor=owners[oid], source=SRC)
        for (oid,) in made[n // 2 :]
    ]
    accepts, first_sweep, second_sweep = await asyncio.gather(
        together(late), services.scheduler.sweep(), second.scheduler.sweep()
    )
    won = sum(a.ok for a in accepts)
    assert first_sweep.expired + second_sweep.expired == (n - n // 2) - won
    kinds, statuses, wrong = await counted(services)
    assert wrong == []
    assert kinds["accepted"] == n // 2 + won and kinds["expired"] == n - n // 2 - won
    async with services.uow() as uow:
        pending = await uow.execute(select(offers.c.id).where(offers.c.status == "pending"))
        assert len(pending.all()) == n - n // 2 - won  # each expired lead was offered on once
