"""The funnel over a history built step by step on a fake clock: every number checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.dispatch import accept_offer, decline_offer, expire_offer, set_stage
from bot.dispatch.reassign import reassign_lead
from bot.domain.leads import Stage
from bot.domain.periods import parse_period
from bot.reports.funnel import Funnel, funnel
from bot.reports.funnel_view import minutes, partner_report
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner

MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


async def build_history(services, clock) -> None:
    """acme covers DE:80, beta DE:81; nobody else, so a declined or expired lead is escalated.

    March 2026 (the period under test), acme: L1 won after 10 min to accept and 2 h to
    contact; L2 lost (price), 30 min / 1 h; L3 declined (not_my_area); L4 expired; L5 accepted
    in 20 min, jumped to opportunity after 3 h, still open. beta: L6 accepted in 5 min.
    February: L0, accepted by beta, must not count.
    """
    doc = config([partner("acme"), partner("beta", territories=["DE:81"])])
    doc["sources"] = {"website": {"cost_per_lead": 10}, "fair": {"cost_per_lead": 100}}
    await apply(services, doc)
    acme, beta = await actor_for(services, "UACME"), await actor_for(services, "UBETA")

    async def new(ref: str, postcode: str, source: str) -> tuple[int, int]:
        stored, _, (offer_id,) = await services.submit_lead(
            lead(ref, postcode=postcode, source=source), actor=SYSTEM, source=SRC
        )
        await deliver_all(services)  # delivered at once: the window starts now
        return stored.id, offer_id

    async def accept(offer_id: int, who) -> None:
        assert (await services.run(accept_offer, offer_id=offer_id, actor=who, source=SRC)).ok

    async def stage(lead_id: int, to: Stage, who, **kw) -> None:
        outcome = await services.run(
            set_stage, lead_id=lead_id, stage=to, actor=who, source=SRC, **kw
        )
        assert outcome.ok, outcome.message

    clock.advance(datetime(2026, 2, 27, 9, tzinfo=UTC) - clock.now())
    _l0, o0 = await new("L0", "81000", "fair")
    clock.advance(MIN)
    await accept(o0, beta)

    clock.advance(datetime(2026, 3, 2, 9, tzinfo=UTC) - clock.now())
    l1, o1 = await new("L1", "80331", "website")
    clock.advance(10 * MIN)
    await accept(o1, acme)
    clock.advance(HOUR + 50 * MIN)  # 2 h after it arrived
    await stage(l1, Stage.CONTACTED, acme)
    await stage(l1, Stage.QUALIFIED, acme)
    await stage(l1, Stage.WON, acme, value=5000)

    clock.advance(HOUR)
    l2, o2 = await new("L2", "80331", "website")
    clock.advance(30 * MIN)
    await accept(o2, acme)
    clock.advance(30 * MIN)
    await stage(l2, Stage.CONTACTED, acme)
    await stage(l2, Stage.LOST, acme, reason="price")

    clock.advance(HOUR)
    _l3, o3 = await new("L3", "80331", "website")
    outcome = await services.run(
        decline_offer, offer_id=o3, actor=acme, reason="not_my_area", source=SRC
    )
    assert outcome.ok

    clock.advance(HOUR)
    _l4, o4 = await new("L4", "80331", "fair")
    clock.advance(31 * MIN)
    assert await services.run(expire_offer, offer_id=o4)

    clock.advance(HOUR)
    l5, o5 = await new("L5", "80331", "fair")
    clock.advance(20 * MIN)
    await accept(o5, acme)
    clock.advance(2 * HOUR + 40 * MIN)  # 3 h after it arrived
    await stage(l5, Stage.OPPORTUNITY, acme, value=2000)

    clock.advance(HOUR)
    _l6, o6 = await new("L6", "81000", "fair")
    clock.advance(5 * MIN)
    await accept(o6, beta)
    await deliver_all(services)


def by_key(rows: list[Funnel]) -> dict[str, Funnel]:
    return {f.key: f for f in rows}


async def test_every_number_of_the_partner_funnel(services, clock):
    await build_history(services, clock)
    march = parse_period("2026-03", now=clock.now())
    async with services.uow() as uow:
        rows = by_key(await funnel(uow, march))
    acme, beta = rows["acme"], rows["beta"]
    assert acme.name == "Acme"
    assert (acme.offered, acme.accepted, acme.declined, acme.expired) == (5, 3, 1, 1)
    assert (acme.undeliverable, acme.withdrawn, acme.assigned) == (0, 0, 0)
    assert acme.declined_by == {"not_my_area": 1}
    assert acme.acceptance_rate == pytest.approx(3 / 5)
    assert (acme.accept_p50, acme.accept_p90) == pytest.approx((20 * 60, 30 * 60))
    assert (acme.contacted, acme.qualified, acme.opportunity) == (3, 2, 2)  # jumps pass steps
    assert (acme.won, acme.lost, acme.lost_by) == (1, 1, {"price": 1})
    assert acme.win_rate == pytest.approx(0.5) and acme.revenue == 5000
    assert (acme.leads, acme.open, acme.stale) == (3, 1, 0)
    assert (acme.contact_p50, acme.contact_p90) == pytest.approx((2 * 3600, 3 * 3600))
    # beta: only L6 (L0 was received in February)
    assert (beta.offered, beta.accepted, beta.leads) == (1, 1, 1)
    assert beta.accept_p50 == beta.accept_p90 == pytest.approx(5 * 60)
    assert beta.contact_p50 is None and beta.win_rate is None


async def test_everything_and_one_partner(services, clock):
    await build_history(services, clock)
    march = parse_period("2026-03", now=clock.now())
    async with services.uow() as uow:
        (everything,) = await funnel(uow, march, by="all")
        (only_beta,) = await funnel(uow, march, partner="beta")
        nobody = await funnel(uow, march, partner="ghost")
    assert (everything.leads, everything.offered, everything.accepted) == (6, 6, 4)
    assert (everything.unassigned, everything.open) == (2, 2)
    # accept times 5, 10, 20, 30 min: nearest-rank p50 is the 2nd, p90 the 4th
    assert (everything.accept_p50, everything.accept_p90) == pytest.approx((600, 1800))
    assert only_beta.key == "beta" and only_beta.offered == 1
    assert nobody == []


async def test_period_boundaries_are_half_open(services, clock):
    await build_history(services, clock)
    now = clock.now()
    async with services.uow() as uow:
        february = by_key(await funnel(uow, parse_period("2026-02", now=now)))
        # L1 arrived at exactly 2026-03-02 09:00: in a range starting that day, not one ending
        before = await funnel(uow, parse_period("2026-03-01..2026-03-01", now=now))
        from_l1 = by_key(await funnel(uow, parse_period("2026-03-02..2026-03-02", now=now)))
    assert list(february) == ["beta"] and february["beta"].accepted == 1
    assert before == []
    assert from_l1["acme"].offered == 5


async def test_by_source_with_cost_per_lead_and_roi(services, clock):
    await build_history(services, clock)
    march = parse_period("2026-03", now=clock.now())
    costs = {"website": 10.0, "fair": 100.0}
    async with services.uow() as uow:
        rows = by_key(await funnel(uow, march, by="source", costs=costs))
        (everything,) = await funnel(uow, march, by="all", costs=costs)
    website, fair = rows["website"], rows["fair"]
    assert (website.leads, website.offered, website.won, website.revenue) == (3, 3, 1, 5000)
    assert website.cost == 30 and website.roi == pytest.approx((5000 - 30) / 30)
    assert website.cost_per_won == 30
    assert (fair.leads, fair.cost, fair.roi) == (3, 300, pytest.approx(-1.0))
    assert everything.cost == 330  # February's fair lead is not in March's cost
    # the times by source too: website L1 10 min / 2 h, L2 30 min / 1 h; fair L5 20 min / 3 h,
    # L6 5 min (not contacted); February's L0 (fair, 1 min) is not in March
    assert (website.accept_p50, website.accept_p90) == pytest.approx((600, 1800))
    assert (website.contact_p50, website.contact_p90) == pytest.approx((3600, 7200))
    assert (fair.accept_p50, fair.accept_p90) == pytest.approx((300, 1200))
    assert fair.contact_p50 == fair.contact_p90 == pytest.approx(3 * 3600)
    async with services.uow() as uow:  # one partner's offers by source: beta's L6 is not here
        acme_only = by_key(await funnel(uow, march, by="source", partner="acme", costs=costs))
    assert acme_only["fair"].accept_p50 == acme_only["fair"].accept_p90 == pytest.approx(1200)
    assert acme_only["website"].contact_p50 == pytest.approx(3600)


async def test_a_lead_taken_back_still_counts_as_accepted_by_the_partner(services, clock):
    """Broadcast to acme and beta: acme accepts in 3 min (beta's copy is withdrawn), then a
    manager takes the lead back and it goes to beta. acme's accept stays in its funnel
    (acceptance rate, time to accept); only the lead moved."""
    both = [partner("acme"), partner("beta")]
    await apply(services, config(both, mode="broadcast", broadcast_size=2))
    stored, _, offer_ids = await services.submit_lead(lead("tb"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    clock.advance(3 * MIN)
    acme = await actor_for(services, "UACME")
    async with services.uow() as uow:
        (mine,) = [i for i in offer_ids if (await uow.offers.get(i)).partner_id == acme.partner_id]
    assert (await services.run(accept_offer, offer_id=mine, actor=acme, source=SRC)).ok
    taken = await services.run(reassign_lead, lead_id=stored.id, actor=MANAGER, source=SRC)
    assert taken.ok and "offered to the next partner" in taken.message
    async with services.uow() as uow:
        rows = by_key(await funnel(uow, parse_period("7d", now=clock.now())))
    had, beta = rows["acme"], rows["beta"]
    assert (had.offered, had.accepted, had.withdrawn, had.leads) == (1, 1, 0, 0)
    assert had.acceptance_rate == 1 and had.accept_p50 == pytest.approx(180)
    assert (beta.offered, beta.accepted, beta.withdrawn) == (2, 0, 1)  # its copy, then its turn


async def test_times_under_ten_minutes_are_shown_to_the_second(services, clock):
    """The rollup keeps times to the second below 10 minutes, as reports show them: a partner
    that accepts in 25 s has a median of 25 s, not '0 min'."""
    await apply(services, config([partner("acme")]))
    _, _, (offer_id,) = await services.submit_lead(lead("fast"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    clock.advance(timedelta(seconds=25))
    acme = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=acme, source=SRC)).ok
    week = parse_period("7d", now=clock.now())
    async with services.uow() as uow:
        (row,) = await funnel(uow, week, partner="acme")
    shown = dict(partner_report(row, week, b"").rows)
    assert shown["time to accept"] == "median 25 s, p90 25 s"
    assert [minutes(t) for t in (None, 59.6, 280, 300, 599.4, 600, 5399, 5400)] == [
        "-", "1 min", "4 min 40 s", "5 min", "9 min 59 s", "10 min", "90 min", "1.5 h"
    ]  # fmt: skip
