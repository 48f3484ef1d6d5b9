"""retention_days: the sweep purges the contact data of finished leads left alone that long, once,
on any number of instances, and leaves the leads still being worked alone."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from bot.bootstrap import build
from bot.config import Settings
from bot.dispatch import accept_offer, set_stage
from bot.domain.actors import Source
from bot.domain.leads import Contact, DispatchStatus, Stage
from bot.retention import EDIT_GAP, Retention
from bot.store.outbox import OutboxKind
from bot.store.tables import outbox
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, actor_for, apply, config, lead, partner

DAYS = 30


def person(n: int) -> Contact:
    return Contact(
        name=f"Person Number{n}", email=f"person{n}@example.com", phone=f"+49 89 55{n:05d}"
    )


async def won_lead(services, n: int, stage: Stage = Stage.WON):
    stored, _, (offer_id,) = await services.submit_lead(
        lead(f"r-{n}", contact=person(n)), actor=SYSTEM, source=SRC
    )
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    outcome = await services.run(
        set_stage, lead_id=stored.id, stage=stage, actor=bob, source=Source.SLACK,
        value=9000 if stage is Stage.WON else None,
    )  # fmt: skip
    assert outcome.ok, outcome.message
    return stored, offer_id


async def contacts(services, *leads) -> list[Contact]:
    async with services.uow() as uow:
        return [await uow.leads.get_contact(x.id) for x in leads]


async def test_finished_leads_lose_their_contact_after_retention_days(
    services, slack, clock, caplog
):
    doc = config([partner("acme")])
    doc["retention_days"] = DAYS
    await apply(services, doc)
    won, won_offer = await won_lead(services, 1)
    working, _ = await won_lead(services, 2, Stage.CONTACTED)  # accepted, still being worked
    nobody, _, _ = await services.submit_lead(  # no partner covers Berlin: the managers have it
        lead("r-3", postcode="10115", contact=person(3)), actor=SYSTEM, source=SRC
    )
    async with services.uow() as uow:
        assert (await uow.leads.get(nobody.id)).status is DispatchStatus.UNASSIGNED
    await deliver_all(services)
    assert slack.latest_card(won_offer).contact == person(1)

    for _ in range(4):  # the managers are told again, three times, then left to it
        clock.advance(timedelta(minutes=31))
        await services.scheduler.sweep()

    clock.advance(timedelta(days=DAYS - 1))
    assert (await services.scheduler.sweep()).purged == 0  # not old enough yet
    clock.advance(timedelta(days=1, hours=1))
    caplog.set_level(logging.INFO, logger="bot")
    assert (await services.scheduler.sweep()).purged == 2
    gone, kept, unassigned = await contacts(services, won, working, nobody)
    assert gone == unassigned == Contact(erased="retention")
    assert kept == person(2)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.retention"]
    assert "purged from 2 finished lead(s)" in line and "30 days" in line
    assert not any(
        secret in caplog.text for n in (1, 3) for secret in (f"person{n}", f"Number{n}", "80331")
    )
    await deliver_all(services)
    card = slack.latest_card(won_offer)
    assert card.contact is None and "contact removed after the retention period" in card.status_line
    async with services.uow() as uow:
        events = await uow.events.list_for_lead(won.id)
        kept_lead = await uow.leads.get(won.id)
    assert [e.data["by"] for e in events if e.kind == "erased"] == ["retention"]
    assert (kept_lead.stage, kept_lead.stage_value) == (Stage.WON, 9000)

    # never twice: not in the next pass, nor once the purge itself is retention_days old
    clock.advance(timedelta(hours=2))
    assert (await services.scheduler.sweep()).purged == 0
    clock.advance(timedelta(days=DAYS + 1))
    assert (await services.scheduler.sweep()).purged == 0
    async with services.uow() as uow:
        events = await uow.events.list_for_lead(won.id)
    assert [e.kind for e in events].count("erased") == 1


async def test_two_instances_purge_each_lead_once_and_space_the_redraws(
    services, database_url, clock
):
    doc = config([partner("acme")])
    doc["retention_days"] = DAYS
    await apply(services, doc)
    leads = [(await won_lead(services, n))[0] for n in range(6)]
    await deliver_all(services)
    clock.advance(timedelta(days=DAYS + 1))
    other = build(Settings(database_url=database_url, _env_file=None), clock=clock)  # type: ignore[call-arg]
    try:
        passes = [Retention(services.uow, services.ctx), Retention(other.uow, other.ctx)]
        done = await asyncio.gather(*(p.run() for p in passes))
    finally:
        await other.close()
    assert sum(done) == 6
    async with services.uow() as uow:
        erased = [
            [e.kind for e in await uow.events.list_for_lead(x.id)].count("erased") for x in leads
        ]
        edits = (
            await uow.execute(
                select(outbox.c.next_attempt_at).where(outbox.c.kind == OutboxKind.UPDATE,
                                                       outbox.c.status == "pending")
            )
        ).scalars().all()  # fmt: skip
    assert erased == [1] * 6
    # the old cards are redrawn a few at a time, so new offers in the chat are not held up
    starts = sorted(edits)
    assert len(starts) == 6 and starts[-1] - starts[0] >= 2 * EDIT_GAP


async def test_a_pass_runs_at_most_once_an_hour_and_without_a_config_does_nothing(services, clock):
    retention = Retention(services.uow, services.ctx)
    assert await retention.run() == 0  # nothing applied yet: no retention_days to go by
    doc = config([partner("acme")])
    doc["retention_days"] = DAYS
    await apply(services, doc)
    won, _ = await won_lead(services, 7)
    clock.advance(timedelta(days=DAYS) - timedelta(minutes=30))
    assert await retention.run() == 0  # too young; the next pass is due in an hour
    clock.advance(timedelta(minutes=31))
    assert await retention.run() == 0  # old enough now, but the pass is not due
    clock.advance(timedelta(minutes=30))
    assert await retention.run() == 1
    assert (await contacts(services, won)) == [Contact(erased="retention")]
