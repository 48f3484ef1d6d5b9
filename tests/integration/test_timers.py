"""Time-driven behaviour with a fake clock: reminders, SLA clock, escalations, stale, digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dispatch import accept_offer, set_stage
from bot.dispatch.reassign import reassign_lead
from bot.dispatch.reminders import remind_offer
from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import OfferStatus
from bot.handlers.presses import press
from bot.messaging import CardState
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner

BUSINESS = {"mon-fri": "08:00-18:00"}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def kinds(services, lead_id):
    async with services.uow() as uow:
        return [e.kind for e in await uow.events.list_for_lead(lead_id)]


async def test_reminder_goes_out_once_before_the_deadline_and_not_after_an_answer(
    services, slack, clock
):
    await apply(services, config([partner("acme")], offer_timeout="30m", reminder_before="10m"))
    stored, _, (offer_id,) = await services.submit_lead(lead("r-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer.expires_at == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=19))
    assert (await services.scheduler.sweep()).reminded == 0
    clock.advance(timedelta(minutes=1))
    assert (await services.scheduler.sweep()).reminded == 1
    assert (await services.scheduler.sweep()).reminded == 0  # once
    await deliver_all(services)
    (reminder,) = slack.notices_to("C-acme")
    assert reminder.title == f"Lead {stored.public_id} is still waiting for your answer"
    assert reminder.mentions == ["UACME"]  # the rep's phone pushes
    assert "closes in about 10 min" in reminder.lines[1]

    answered, _, (second,) = await services.submit_lead(lead("r-2"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=second, actor=bob, source=SRC)).ok
    clock.advance(timedelta(minutes=25))
    assert (await services.scheduler.sweep()).reminded == 0  # answered: no reminder
    assert "reminded" not in await kinds(services, answered.id)


async def test_no_reminder_once_the_window_has_closed(services, slack, clock):
    # after a restart both timers of an offer are overdue and the reminder's (the earlier one)
    # may run first: the partner must not be told the offer "closes in about 1 min"
    await apply(services, config([partner("acme")], offer_timeout="30m", reminder_before="10m"))
    stored, _, (offer_id,) = await services.submit_lead(lead("r-3"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    clock.advance(timedelta(minutes=45))  # down from minute 15 to 45
    assert not await services.run(remind_offer, offer_id=offer_id)
    assert (await services.scheduler.sweep()).expired == 1
    await deliver_all(services)
    assert slack.notices_to("C-acme") == []
    assert "reminded" not in await kinds(services, stored.id)


async def test_business_hours_clock_across_a_weekend_and_a_holiday(services, clock):
    clock.advance(at(2026, 3, 6, 16, 50) - clock.now())  # Friday 17:50 in Berlin
    acme = partner("acme", hours=BUSINESS, timezone="Europe/Berlin")
    await apply(
        services,
        config(
            [acme],
            business_hours_only=True,
            offer_timeout="30m",
            reminder_before="10m",
            out_of_hours="offer",
        ),
    )
    _, _, (offer_id,) = await services.submit_lead(lead("b-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer.expires_at == at(2026, 3, 9, 7, 20)  # Monday 08:20 Berlin
    assert offer.remind_at == at(2026, 3, 9, 7, 10)  # Monday 08:10: 10 min before the end
    clock.advance(timedelta(hours=60))  # Monday 05:50 UTC: nothing is due over the weekend
    result = await services.scheduler.sweep()
    assert (result.expired, result.reminded) == (0, 0)

    holiday = partner("acme", hours=BUSINESS, timezone="Europe/Berlin", holidays=["2026-03-16"])
    await apply(
        services,
        config([holiday], business_hours_only=True, offer_timeout="30m", out_of_hours="offer"),
    )
    clock.advance(at(2026, 3, 13, 16, 50) - clock.now())  # the next Friday 17:50
    _, _, (offer_id,) = await services.submit_lead(lead("b-2"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer.expires_at == at(2026, 3, 17, 7, 20)  # Monday is a holiday: Tuesday 08:20


async def test_the_card_shows_the_business_hours_deadline(services, slack, clock):
    clock.advance(at(2026, 3, 6, 16, 50) - clock.now())  # Friday 17:50 in Berlin
    acme = partner("acme", hours=BUSINESS, timezone="Europe/Berlin")
    await apply(
        services,
        config([acme], business_hours_only=True, offer_timeout="30m", out_of_hours="offer"),
    )
    _, _, (offer_id,) = await services.submit_lead(lead("b-4"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    (card,) = slack.offers_to("C-acme")
    assert card.deadline == at(2026, 3, 9, 7, 20)  # Monday 08:20 Berlin, not Friday 18:20
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).expires_at == card.deadline


async def test_business_hours_clock_skips_a_holiday_without_weekly_hours(services, clock):
    clock.advance(at(2026, 3, 15, 22, 50) - clock.now())  # Sunday 23:50 in Berlin
    acme = partner("acme", timezone="Europe/Berlin", holidays=["2026-03-16"])
    await apply(
        services,
        config([acme], business_hours_only=True, offer_timeout="30m", reminder_before="10m"),
    )
    _, _, (offer_id,) = await services.submit_lead(lead("b-3"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    # 10 minutes on Sunday, none on Monday (the holiday), 20 from Tuesday 00:00 Berlin
    assert offer.expires_at == at(2026, 3, 16, 23, 20)
    assert offer.remind_at == at(2026, 3, 16, 23, 10)


async def test_escalation_card_has_assign_buttons_and_repeats(services, slack, clock):
    await apply(
        services,
        config(
            [partner("acme"), partner("beta"), partner("gamma", specialties=["solar"])],
            max_rounds=1,
            offer_timeout="30m",
            escalation_repeats=2,
        ),
    )
    stored, _, (offer_id,) = await services.submit_lead(lead("e-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    clock.advance(timedelta(minutes=31))
    await services.scheduler.sweep()
    await deliver_all(services)
    (first,) = slack.notices_to("C0MANAGERS")
    assert first.title == f"Nobody took lead {stored.public_id}"
    assert any(line.startswith("Why: nobody took it in 1 rounds") for line in first.lines)
    labels = [b.label for b in first.buttons]
    assert sorted(labels) == ["Assign to Acme", "Assign to Beta"]
    assert "Assign to Gamma" not in labels  # does not do heat pumps
    assert all(b.value.startswith(f"a:{stored.id}:") for b in first.buttons)
    for _ in range(4):
        clock.advance(timedelta(minutes=31))
        await services.scheduler.sweep()
    await deliver_all(services)
    notices = slack.notices_to("C0MANAGERS")
    assert [n.title for n in notices[1:]] == [
        f"Lead {stored.public_id} is still waiting for a partner"
    ] * 2  # repeated twice, no more
    assert (await kinds(services, stored.id)).count("escalated") == 2


async def test_escalation_says_everyone_covering_was_tried_not_that_nobody_covers(
    services, slack, clock
):
    # two partners cover 80331, max_rounds is 3: after both let the window pass nobody is left
    await apply(services, config([partner("acme"), partner("beta")], max_rounds=3))
    stored, _, _ = await services.submit_lead(lead("e-2"), actor=SYSTEM, source=SRC)
    for _ in range(2):
        await deliver_all(services)
        clock.advance(timedelta(minutes=31))
        assert (await services.scheduler.sweep()).expired == 1
    await deliver_all(services)
    (notice,) = slack.notices_to("C0MANAGERS")
    why = next(line for line in notice.lines if line.startswith("Why: "))
    assert why == "Why: all 2 partners covering DE-80331 were tried"
    async with services.uow() as uow:
        events = await uow.events.list_for_lead(stored.id)
    assert events[-1].data["reason"] == "all 2 partners covering DE-80331 were tried"


async def test_an_offer_withdrawn_with_its_partner_does_not_use_up_a_round(services, slack):
    # ACME is taken out of leadbot.yaml while its offer is pending: ACME never had its go, so
    # with max_rounds 1 the lead still goes to Beta, not to the managers
    both = [partner("acme", priority=1), partner("beta", priority=2)]
    await apply(services, config(both, max_rounds=1))
    stored, _, (offer_id,) = await services.submit_lead(lead("w-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    await apply(services, config([partner("beta", priority=2)], max_rounds=1))
    assert (await services.scheduler.sweep()).withdrawn == 1
    await deliver_all(services)
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).status is DispatchStatus.OFFERED
        offers = await uow.offers.list_for_lead(stored.id)
    assert [o.status for o in offers] == [OfferStatus.WITHDRAWN, OfferStatus.PENDING]
    assert len(slack.offers_to("C-beta")) == 1
    assert slack.notices_to("C0MANAGERS") == []


async def test_stale_lead_nudge_then_managers_then_take_back(services, slack, clock):
    await apply(
        services, config([partner("acme"), partner("beta")], stale_after="48h", max_rounds=3)
    )
    stored, _, (offer_id,) = await services.submit_lead(lead("st-1"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        holder = (await uow.offers.get(offer_id)).partner_id
    rep = await actor_for(services, "UACME")
    if rep.partner_id != holder:
        rep = await actor_for(services, "UBETA")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=rep, source=SRC)).ok
    clock.advance(timedelta(hours=47))
    assert (await services.scheduler.sweep()).stale == {}
    clock.advance(timedelta(hours=1))
    assert (await services.scheduler.sweep()).stale == {"nudged": 1}
    assert (await services.scheduler.sweep()).stale == {}  # once
    clock.advance(timedelta(hours=48))
    assert (await services.scheduler.sweep()).stale == {"alerted": 1}
    await deliver_all(services)
    slug = "acme" if rep.name == "Rep acme" else "beta"
    nudge = slack.notices_to(f"C-{slug}")[-1]
    assert nudge.title == f"Lead {stored.public_id}: any news?"
    alert = slack.notices_to("C0MANAGERS")[-1]
    (take_back,) = [b.value for b in alert.buttons]
    assert take_back == f"r:{stored.id}:{holder}"  # about this holder only

    outcome = await press(services, MANAGER, take_back, source=SRC)
    assert outcome.ok, outcome.message
    await deliver_all(services)
    card = slack.latest_card(offer_id)
    assert card.state is CardState.CLOSED and card.contact is None  # contact gone from the card
    async with services.uow() as uow:
        fresh = await uow.leads.get(stored.id)
        offers = await uow.offers.list_for_lead(stored.id)
    assert fresh.status is DispatchStatus.OFFERED and fresh.partner_id is None
    assert [o.status for o in offers] == [OfferStatus.WITHDRAWN, OfferStatus.PENDING]
    assert offers[1].partner_id != holder  # passed on to the other partner
    other = await actor_for(services, "UBETA" if slug == "acme" else "UACME")
    assert (await services.run(accept_offer, offer_id=offers[1].id, actor=other, source=SRC)).ok
    again = await press(services, MANAGER, take_back, source=SRC)  # the old notice's button
    assert not again.ok and "is no longer with" in again.message
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).partner_id == offers[1].partner_id


async def test_a_nudge_after_downtime_says_how_long_the_lead_really_waited(services, slack, clock):
    """Nobody swept for five days (Leadbot was down): the partner is told five days, not the
    48 h of stale_after."""
    await apply(services, config([partner("acme")], stale_after="48h"))
    _, _, (offer_id,) = await services.submit_lead(lead("st-d"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    clock.advance(timedelta(days=5, hours=2))
    assert (await services.scheduler.sweep()).stale == {"nudged": 1}
    await deliver_all(services)
    nudge = slack.notices_to("C-acme")[-1]
    assert nudge.lines[1].startswith("No update for 5 days (stage: accepted)")
    clock.advance(timedelta(hours=30))
    assert (await services.scheduler.sweep()).stale == {}  # 30 h since the nudge: not yet
    clock.advance(timedelta(hours=18))
    assert (await services.scheduler.sweep()).stale == {"alerted": 1}
    await deliver_all(services)
    alert = slack.notices_to("C0MANAGERS")[-1]
    assert alert.lines[1].startswith("No update for 7 days despite a nudge")


async def test_a_stage_change_resets_the_stale_clock(services, clock):
    await apply(services, config([partner("acme")], stale_after="48h"))
    stored, _, (offer_id,) = await services.submit_lead(lead("st-2"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)
    clock.advance(timedelta(hours=49))
    assert (await services.scheduler.sweep()).stale == {"nudged": 1}
    await services.run(set_stage, lead_id=stored.id, stage=Stage.CONTACTED, actor=bob, source=SRC)
    clock.advance(timedelta(hours=49))
    assert (await services.scheduler.sweep()).stale == {"nudged": 1}  # a fresh nudge, not alert


async def test_reassign_refusals(services):
    await apply(services, config([partner("acme")]))
    stored, _, _ = await services.submit_lead(lead("ra-1"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    assert not (await services.run(reassign_lead, lead_id=stored.id, actor=bob, source=SRC)).ok
    refused = await services.run(reassign_lead, lead_id=stored.id, actor=MANAGER, source=SRC)
    assert not refused.ok and "not with a partner" in refused.message


async def test_daily_digest_once_at_the_local_time(services, slack, clock):
    doc = config([partner("acme"), partner("beta")], max_rounds=1)
    doc["digest"] = {"time": "08:00", "timezone": "Europe/Berlin"}
    clock.advance(at(2026, 3, 2, 9, 0) - clock.now())  # Monday 10:00 Berlin
    await apply(services, doc)
    bob = await actor_for(services, "UACME")
    beta = await actor_for(services, "UBETA")
    for i in range(4):
        _, _, (offer_id,) = await services.submit_lead(lead(f"d-{i}"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        clock.advance(timedelta(minutes=4 * (i + 1)))
        async with services.uow() as uow:
            holder = (await uow.offers.get(offer_id)).partner_id
        who = bob if bob.partner_id == holder else beta
        if i < 3:
            await services.run(accept_offer, offer_id=offer_id, actor=who, source=SRC)
    clock.advance(timedelta(minutes=31))  # the fourth expires: unassigned (one round only)
    await services.scheduler.sweep()
    clock.advance(at(2026, 3, 3, 6, 59) - clock.now())  # Tuesday 07:59 Berlin: not yet
    assert not (await services.scheduler.sweep()).digest
    clock.advance(timedelta(minutes=1))
    assert (await services.scheduler.sweep()).digest
    assert not (await services.scheduler.sweep()).digest  # once a day
    await deliver_all(services)
    digest = slack.notices_to("C0MANAGERS")[-1]
    assert digest.title == "Leadbot digest for 2026-03-03"
    assert digest.lines[0] == "Leads received yesterday: 4"
    assert digest.lines[1] == "Acceptance rate: 75% (3 of 4 answered offers)"
    assert digest.lines[2] == "Median time to accept: 8 min"  # 4, 8 and 12 minutes
    assert digest.lines[3] == "Declined: 0 · expired: 1"
    assert digest.lines[5].startswith("Unassigned now: 1 (L")


async def test_the_digest_counts_an_accept_taken_back_later_and_its_median_as_the_funnels(
    services, slack, clock
):
    """As the funnel: an accept a manager took back was an accept, and the median is the
    nearest-rank one (accepts after 4 and 8 minutes: 4 min, not their mean 6)."""
    doc = config([partner("acme")])
    doc["digest"] = {"time": "08:00", "timezone": "Europe/Berlin"}
    clock.advance(at(2026, 3, 2, 9, 0) - clock.now())
    await apply(services, doc)
    bob = await actor_for(services, "UACME")
    taken = []
    for i, wait in enumerate((4, 8)):
        stored, _, (offer_id,) = await services.submit_lead(
            lead(f"tb-{i}"), actor=SYSTEM, source=SRC
        )
        await deliver_all(services)
        clock.advance(timedelta(minutes=wait))
        assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
        taken.append(stored.id)
    took_back = await services.run(reassign_lead, lead_id=taken[0], actor=MANAGER, source=SRC)
    assert took_back.ok, took_back.message
    clock.advance(at(2026, 3, 3, 7, 0) - clock.now())
    assert (await services.scheduler.sweep()).digest
    await deliver_all(services)
    digest = next(
        n for n in slack.notices_to("C0MANAGERS") if n.title == "Leadbot digest for 2026-03-03"
    )
    assert digest.lines[1] == "Acceptance rate: 100% (2 of 2 answered offers)"
    assert digest.lines[2] == "Median time to accept: 4 min"


async def test_a_digest_missed_while_down_goes_out_when_back(services, slack, clock):
    doc = config([partner("acme")])
    doc["digest"] = {"time": "08:00", "timezone": "Europe/Berlin"}
    clock.advance(at(2026, 3, 2, 5, 0) - clock.now())  # Monday 06:00 Berlin, then down
    await apply(services, doc)
    assert (await services.scheduler.sweep()).digest  # Sunday's (08:00 on Sunday has passed)
    assert not (await services.scheduler.sweep()).digest
    clock.advance(at(2026, 3, 3, 6, 0) - clock.now())  # back on Tuesday 07:00 Berlin
    assert (await services.scheduler.sweep()).digest
    await deliver_all(services)
    assert slack.notices_to("C0MANAGERS")[-1].title == "Leadbot digest for 2026-03-02"
