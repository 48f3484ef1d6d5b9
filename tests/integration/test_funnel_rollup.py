"""The funnel rollup gives the numbers the leads and offers give: compared over random histories,
every period shape and grouping, before and after refreshes, and with changes in between."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.dispatch import accept_offer, decline_offer, expire_offer, set_stage
from bot.domain.leads import Stage
from bot.domain.periods import parse_period
from bot.reports import rollup
from bot.reports.funnel import Funnel, funnel, funnel_all, nearest_rank
from bot.store.rollup_tables import funnel_days, funnel_rollup_state, funnel_times
from tests.conftest import deliver_all, upgrade_from
from tests.factories import SRC, SYSTEM, actor_for, apply, config, lead, partner

START = datetime(2026, 3, 1, 8, tzinfo=UTC)
CLOSED = (Stage.WON, Stage.LOST)
PERIODS = ["7d", "30d", "1d", "2026-03", "2026-03-02..2026-03-04", "2026-03-03..2026-03-03"]


async def random_history(services, clock, seed: int, leads: int = 24) -> list[int]:
    """Leads over about six days for acme (DE:80) and beta (DE:81), each offered, then
    accepted, declined or left to expire, some moved on to contacted, won or lost."""
    rng = random.Random(seed)
    await apply(services, config([partner("acme"), partner("beta", territories=["DE:81"])]))
    who = {"80": await actor_for(services, "UACME"), "81": await actor_for(services, "UBETA")}
    clock.advance(START - clock.now())
    accepted: list[int] = []
    for n in range(leads):
        clock.advance(timedelta(minutes=rng.randint(10, 600)))
        postcode = rng.choice(["80331", "81000"])
        stored, _, (offer_id,) = await services.submit_lead(
            lead(f"R{seed}-{n}", postcode=postcode, source=rng.choice(["website", "fair"])),
            actor=SYSTEM,
            source=SRC,
        )
        await deliver_all(services)
        wait = timedelta(seconds=rng.randint(20, 1700))  # within the 30-minute window
        clock.advance(wait)
        actor, roll = who[postcode[:2]], rng.random()
        if roll < 0.6:
            assert (await services.run(accept_offer, offer_id=offer_id, actor=actor, source=SRC)).ok
            accepted.append(stored.id)
        elif roll < 0.8:
            reason = rng.choice(["not_my_area", "no_capacity"])
            outcome = await services.run(
                decline_offer, offer_id=offer_id, actor=actor, reason=reason, source=SRC
            )
            assert outcome.ok
        else:
            clock.advance(timedelta(minutes=31) - wait)
            assert await services.run(expire_offer, offer_id=offer_id)
        await deliver_all(services)
    for lead_id in accepted:
        if rng.random() < 0.3:
            continue
        clock.advance(timedelta(minutes=rng.randint(5, 400)))
        actor = await _holder_actor(services, lead_id, who)
        await _stage(services, lead_id, Stage.CONTACTED, actor)
        roll = rng.random()
        if roll < 0.4:
            await _stage(services, lead_id, Stage.WON, actor, value=rng.randint(100, 9000))
        elif roll < 0.6:
            await _stage(services, lead_id, Stage.LOST, actor, reason="price")
    return accepted


async def _holder_actor(services, lead_id: int, who):
    async with services.uow() as uow:
        held = await uow.leads.get(lead_id)
        slug = (await uow.partners.list_names())[held.partner_id][0]
    return who["80"] if slug == "acme" else who["81"]


async def _stage(services, lead_id: int, to: Stage, actor, **kw) -> None:
    outcome = await services.run(
        set_stage, lead_id=lead_id, stage=to, actor=actor, source=SRC, **kw
    )
    assert outcome.ok, outcome.message


async def every_answer(services, now: datetime) -> dict[tuple[str, str, str], list[Funnel]]:
    answers = {}
    async with services.uow() as uow:
        for text in PERIODS:
            period = parse_period(text, now=now)
            for by in ("partner", "source", "all"):
                answers[text, by, ""] = await funnel(uow, period, by=by)  # type: ignore[arg-type]
            answers[text, "partner", "acme"] = await funnel(uow, period, partner="acme")
            # one pass for both: the same rows as asking twice
            everyone, total = await funnel_all(uow, period)
            assert everyone == answers[text, "partner", ""]
            assert [total] == answers[text, "all", ""] or not everyone
    return answers


async def refresh(services, *, now: datetime) -> int:
    async with services.uow() as uow:
        days = await rollup.refresh(uow, now=now)
        await uow.commit()
    return days


async def stale(services) -> list:
    async with services.uow() as uow:
        return await rollup.stale_days(uow)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_rollup_gives_the_live_numbers(services, clock, seed):
    await random_history(services, clock, seed)
    clock.advance(timedelta(hours=1))
    now = clock.now()
    live = await every_answer(services, now)
    assert any(f.accept_p50 for f in live["30d", "partner", ""]), "the history has accepts"
    assert await stale(services), "nothing refreshed yet: every day is read live"

    assert await refresh(services, now=now) >= 5
    assert await stale(services) == []  # all events are older than SETTLE: the mark moved
    assert await every_answer(services, now) == live

    async with services.uow() as uow:
        stored = (await uow.execute(select(func.count()).select_from(funnel_days))).scalar()
    assert stored and stored > 0


async def test_a_change_after_a_refresh_is_counted_at_once_and_folded_in_next(services, clock):
    accepted = await random_history(services, clock, seed=7)
    clock.advance(timedelta(hours=1))
    await refresh(services, now=clock.now())
    before = await every_answer(services, clock.now())

    # a lead accepted days ago is won now: its day changes, the rollup does not know yet
    async with services.uow() as uow:
        open_ = [i for i in accepted if (await uow.leads.get(i)).stage not in CLOSED]
    who = {"80": await actor_for(services, "UACME"), "81": await actor_for(services, "UBETA")}
    await _stage(
        services, open_[0], Stage.WON, await _holder_actor(services, open_[0], who), value=1234
    )
    now = clock.now()
    changed = await stale(services)
    assert len(changed) == 1
    after = await every_answer(services, now)
    (was,), (now_all,) = before["2026-03", "all", ""], after["2026-03", "all", ""]
    assert (now_all.won, now_all.revenue) == (was.won + 1, was.revenue + 1234)

    # folded in at once, but the mark waits until the event is older than SETTLE
    await refresh(services, now=now)
    assert await stale(services) == changed
    assert await every_answer(services, now) == after
    clock.advance(rollup.SETTLE + timedelta(seconds=1))
    await refresh(services, now=clock.now())
    assert await stale(services) == []
    assert await every_answer(services, now) == after


async def test_whole_days_are_read_from_the_rollup(services, clock):
    """Proof the stored rows are used: edit one and the report moves (never done for real)."""
    await random_history(services, clock, seed=11)
    clock.advance(timedelta(days=2))
    await refresh(services, now=clock.now())
    march = parse_period("2026-03", now=clock.now())
    async with services.uow() as uow:
        (everything,) = await funnel(uow, march, by="all")
        await uow.execute(update(funnel_days).values(offered=funnel_days.c.offered + 1))
        await uow.execute(update(funnel_times).values(seconds=funnel_times.c.seconds + 7))
        (edited,) = await funnel(uow, march, by="all")
        rows = (await uow.execute(select(func.count()).select_from(funnel_days))).scalar()
        mark = (await uow.execute(select(funnel_rollup_state.c.event_id))).scalar()
    assert mark and mark > 0
    assert edited.offered == everything.offered + rows
    assert edited.accept_p50 == everything.accept_p50 + 7


def test_nearest_rank_percentiles_of_a_histogram():
    assert nearest_rank({}, 50) is None
    assert nearest_rank({300: 1}, 90) == 300
    # 5, 10, 20, 30 min: the 2nd is the median, the 4th the p90
    histogram = {300: 1, 600: 1, 1200: 1, 1800: 1}
    assert (nearest_rank(histogram, 50), nearest_rank(histogram, 90)) == (600, 1800)
    assert nearest_rank({60: 9, 3600: 1}, 90) == 60
    assert nearest_rank({60: 9, 3600: 2}, 90) == 3600


async def test_the_upgrade_that_changed_how_accepts_count_builds_the_rollup_again(
    services, clock, database_url
):
    """Revision 0017: days folded in by an older Leadbot (here: edited by hand) are counted
    again from the audit log at the first report after the upgrade."""

    await random_history(services, clock, seed=11)
    clock.advance(timedelta(days=2))
    await refresh(services, now=clock.now())
    march = parse_period("2026-03", now=clock.now())
    async with services.uow() as uow:
        (right,) = await funnel(uow, march, by="all")
        await uow.execute(update(funnel_days).values(accepted=funnel_days.c.accepted + 1))
        await uow.commit()
    await upgrade_from(database_url, "0016")
    await refresh(services, now=clock.now())
    async with services.uow() as uow:
        (again,) = await funnel(uow, march, by="all")
    assert again == right
