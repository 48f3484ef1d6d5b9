"""Signed events to a CRM: a real receiver on loopback checks signatures and order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import get_args

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.dispatch import accept_offer, assign_lead, decline_offer, set_stage
from bot.dispatch.reassign import reassign_lead
from bot.domain.leads import Stage
from bot.policy_file import WebhookEvent
from bot.store.tables import outbox
from bot.webhooks import sign, verify
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner

SECRET = "s3cret-for-tests"
ALL = list(get_args(WebhookEvent))


class Receiver:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.down = 0  # answer 503 to this many requests first
        self.refused: set[str] = set()  # leads (external ids) whose events it answers 400
        self.busy = 0  # then answer 429 (Retry-After: 1) to this many

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.down:
            self.down -= 1
            return web.Response(status=503)
        if self.busy:
            self.busy -= 1
            return web.Response(status=429, headers={"Retry-After": "1"})
        if not verify(SECRET, request.headers.get("X-Leadbot-Signature", ""), body):
            return web.Response(status=401)
        event = json.loads(body)
        if event["lead"]["external_id"] in self.refused:
            return web.Response(status=400)
        self.events.append(event)
        return web.Response(status=204)


@asynccontextmanager
async def listening() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/leadbot", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/hooks/leadbot"  # type: ignore[attr-defined]
    try:
        yield rec
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver(monkeypatch):
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", SECRET)
    async with listening() as rec:
        yield rec


async def _configure(services, receiver, partners=None, **policy) -> None:
    doc = config(partners or [partner("acme")], **policy)
    doc["webhooks"] = [{"url": receiver.url, "secret_env": "CRM_WEBHOOK_SECRET", "events": ALL}]
    await apply(services, doc)


async def test_events_arrive_signed_and_in_order(services, receiver):
    await _configure(services, receiver)
    stored, _, (offer_id,) = await services.submit_lead(lead("wh-1"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)
    await services.run(set_stage, lead_id=stored.id, stage=Stage.CONTACTED, actor=bob, source=SRC)
    await deliver_all(services)
    assert [e["event"] for e in receiver.events] == [
        "lead.created",
        "offer.created",
        "offer.accepted",
        "lead.stage_changed",
    ]
    assert {e["lead"]["id"] for e in receiver.events} == {stored.public_id}
    sent = json.dumps(receiver.events)
    assert "max@example.com" not in sent and "Max Kunde" not in sent  # no personal data
    assert receiver.events[-1]["data"]["to"] == "contacted"


async def test_a_receiver_down_for_a_while_gets_every_event_once(services, receiver, clock):
    await _configure(services, receiver)
    receiver.down = 10
    for i in range(2):
        await services.submit_lead(lead(f"wh-d{i}"), actor=SYSTEM, source=SRC)
    # ten failed tries: one probe a pass (the other events wait behind it), backing off
    for _ in range(30):
        await deliver_all(services)
        clock.advance(timedelta(minutes=1))
    await deliver_all(services)
    kinds = sorted(e["event"] for e in receiver.events)
    assert kinds == ["lead.created", "lead.created", "offer.created", "offer.created"]
    for lead_ref in {e["lead"]["id"] for e in receiver.events}:  # each lead's events in order
        assert [e["event"] for e in receiver.events if e["lead"]["id"] == lead_ref] == [
            "lead.created",
            "offer.created",
        ]
    assert len({e["id"] for e in receiver.events}) == 4
    assert receiver.down == 0
    async with services.uow() as uow:
        assert await uow.webhook_outages.count() == 0  # back: no longer reported


async def test_a_receiver_down_over_a_weekend_still_gets_every_event(services, receiver, clock):
    """Tried at most every five minutes for three days, however many tries that takes; a
    try an hour here, so well over the 32 tries that alone once meant giving up."""
    await _configure(services, receiver)
    receiver.down = 10**6
    await services.submit_lead(lead("wh-w"), actor=SYSTEM, source=SRC)
    for _ in range(60):  # two and a half days
        await deliver_all(services)
        clock.advance(timedelta(hours=1))
    receiver.down = 0
    await deliver_all(services)
    clock.advance(timedelta(minutes=5))
    await deliver_all(services)
    assert [e["event"] for e in receiver.events] == ["lead.created", "offer.created"]
    async with services.uow() as uow:
        assert await uow.outbox.count(status="failed") == 0


async def test_a_dead_endpoint_is_reported_once_not_per_lead_and_its_token_nowhere(
    services, receiver, slack, clock, caplog
):
    import httpx

    from bot.handlers.http import create_app

    doc = config([partner("acme")])
    url = f"{receiver.url}?token=t0ken-in-the-url"
    doc["webhooks"] = [{"url": url, "secret_env": "CRM_WEBHOOK_SECRET", "events": ALL}]
    await apply(services, doc)
    receiver.down = 1000
    for i in range(3):
        await services.submit_lead(lead(f"wh-x{i}"), actor=SYSTEM, source=SRC)
    for _ in range(6):
        await deliver_all(services)
        clock.advance(timedelta(minutes=1))
    await deliver_all(services)
    alerts = [n for n in slack.notices_to("C0MANAGERS") if n.title == "The CRM webhook is failing"]
    host = receiver.url.removesuffix("/hooks/leadbot")
    assert len(alerts) == 1 and alerts[0].lines[0] == f"webhook {host} answered 503"
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
        health = (await client.get("/healthz")).json()
    assert health["webhooks"] == "1 failing" and receiver.url not in str(health)
    async with services.uow() as uow:
        errors = (await uow.execute(select(outbox.c.last_error))).scalars().all()
    shown = json.dumps([n.lines for n in slack.notices_to("C0MANAGERS")]) + str(errors)
    assert "t0ken" not in shown + caplog.text and "/hooks/leadbot" not in shown


async def test_a_crm_refusing_one_leads_events_is_one_outage_not_a_notice_each_retry(
    services, receiver, slack, clock
):
    """The CRM answers 400 to one lead's events and takes every other lead's: the managers
    hear it is failing once, and not that it answers again while that event still fails."""
    await _configure(services, receiver)
    receiver.refused = {"wh-poison"}
    await services.submit_lead(lead("wh-poison"), actor=SYSTEM, source=SRC)
    for i in range(12):  # a good lead every ten minutes, for two hours
        await services.submit_lead(lead(f"wh-good-{i}"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        clock.advance(timedelta(minutes=10))
        await deliver_all(services)
    titles = [n.title for n in slack.notices_to("C0MANAGERS")]
    assert titles.count("The CRM webhook is failing") == 1
    assert titles.count("The CRM webhook answers again") == 0
    assert len(receiver.events) == 24  # every good lead's two events
    receiver.refused = set()  # fixed on the CRM's side: the held event goes, then it is back
    clock.advance(timedelta(minutes=10))
    await deliver_all(services)
    titles = [n.title for n in slack.notices_to("C0MANAGERS")]
    assert titles.count("The CRM webhook answers again") == 1


async def test_a_crm_asking_to_slow_down_is_waited_for_not_reported(
    services, receiver, slack, clock
):
    """Two failed tries, then 429s: a CRM that says "later" is not down."""
    await _configure(services, receiver)
    receiver.down, receiver.busy = 2, 6
    await services.submit_lead(lead("wh-busy"), actor=SYSTEM, source=SRC)
    for _ in range(12):
        await deliver_all(services)
        clock.advance(timedelta(seconds=2))
    assert [e["event"] for e in receiver.events] == ["lead.created", "offer.created"]
    titles = [n.title for n in slack.notices_to("C0MANAGERS")]
    assert "The CRM webhook is failing" not in titles


async def test_two_instances_report_an_outage_once_and_its_end_once(
    services, receiver, slack, clock
):
    """Two senders (two instances, or one restarted) find the endpoint down: the managers
    hear it once, and once when it answers again; /healthz counts it on both."""
    from bot.outbox_sender import OutboxSender

    await _configure(services, receiver)
    other = OutboxSender(services.uow, services.ctx, services.messengers)
    receiver.down = 1000
    for i in range(3):
        await services.submit_lead(lead(f"wh-i{i}"), actor=SYSTEM, source=SRC)
    for _ in range(6):
        for sender in (services.sender, other):
            while await sender.drain_once():
                pass
        clock.advance(timedelta(minutes=1))
    async with services.uow() as uow:
        assert await uow.webhook_outages.count() == 1
    receiver.down = 0
    clock.advance(timedelta(hours=1))  # past every backoff
    for _ in range(3):
        await deliver_all(services)
        while await other.drain_once():
            pass
    titles = [n.title for n in slack.notices_to("C0MANAGERS")]
    assert titles.count("The CRM webhook is failing") == 1
    assert titles.count("The CRM webhook answers again") == 1
    assert titles.index("The CRM webhook is failing") < titles.index(
        "The CRM webhook answers again"
    )
    assert len({e["id"] for e in receiver.events}) == len(receiver.events) == 6
    async with services.uow() as uow:
        assert await uow.webhook_outages.count() == 0


def test_signatures_verify_only_when_untouched_and_recent():
    import time

    body = b'{"event":"lead.created"}'
    now = int(time.time())
    header = sign(SECRET, now, body)
    assert verify(SECRET, header, body)
    assert not verify(SECRET, header, body + b" ")
    assert not verify("other", header, body)
    assert not verify(SECRET, sign(SECRET, now - 3600, body), body)


async def test_one_failed_event_does_not_let_the_next_one_overtake_it(services, receiver, clock):
    await _configure(services, receiver)
    receiver.down = 1  # lead.created fails once; offer.created is ready right behind it
    stored, _, _ = await services.submit_lead(lead("wh-o"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    clock.advance(timedelta(seconds=5))
    await deliver_all(services)
    assert [e["event"] for e in receiver.events] == ["lead.created", "offer.created"]


async def test_a_dead_endpoint_holds_up_nothing_sent_to_another(services, receiver, clock):
    """Order is kept per lead and endpoint: a second CRM's events do not wait behind the
    first one's outage."""
    async with listening() as dead:
        dead.down = 10**6
        doc = config([partner("acme")])
        doc["webhooks"] = [
            {"url": u, "secret_env": "CRM_WEBHOOK_SECRET", "events": ALL}
            for u in (dead.url, receiver.url)  # type: ignore[attr-defined]
        ]
        await apply(services, doc)
        await services.submit_lead(lead("wh-2"), actor=SYSTEM, source=SRC)
        for _ in range(3):
            await deliver_all(services)
            clock.advance(timedelta(minutes=1))
        assert [e["event"] for e in receiver.events] == ["lead.created", "offer.created"]
        assert dead.events == []


async def test_a_webhook_moved_to_a_new_url_leaves_no_outage_and_splits_no_lead(
    services, receiver, clock
):
    """The old endpoint was down: once leadbot.yaml names the new one, the old outage is no
    longer reported, its queued events are skipped (not retried for days), and a lead that
    arrives the moment the change is applied has all its events at the new endpoint."""
    async with listening() as old:
        old.down = 10**6
        doc = config([partner("acme")])
        hook = {"url": old.url, "secret_env": "CRM_WEBHOOK_SECRET", "events": ALL}  # type: ignore[attr-defined]
        doc["webhooks"] = [hook]
        await apply(services, doc)
        await services.submit_lead(lead("wh-old"), actor=SYSTEM, source=SRC)
        for _ in range(4):
            await deliver_all(services)
            clock.advance(timedelta(minutes=1))
        async with services.uow() as uow:
            assert await uow.webhook_outages.count() == 1
        doc["webhooks"] = [{**hook, "url": receiver.url}]
        await apply(services, doc)
        async with services.uow() as uow:
            assert await uow.webhook_outages.count() == 0
        await services.submit_lead(lead("wh-new"), actor=SYSTEM, source=SRC)  # at once
        clock.advance(timedelta(minutes=10))
        await deliver_all(services)
        assert [(e["lead"]["external_id"], e["event"]) for e in receiver.events] == [
            ("wh-new", "lead.created"),
            ("wh-new", "offer.created"),
        ]
        async with services.uow() as uow:
            assert await uow.outbox.count(status="pending") == 0
            assert await uow.outbox.count(status="skipped") == 2  # the old lead's two events
            assert await uow.webhook_outages.count() == 0
        assert old.events == []


async def test_a_manager_assigning_or_taking_back_a_lead_tells_the_crm(services, receiver):
    """Who holds the lead is never a surprise to the CRM: a manager's assign is an
    offer.accepted (mode manual); taking it back is a stage change to none, then the next
    partner's offer.created."""
    await _configure(services, receiver, [partner("acme", priority=1), partner("beta", priority=2)])
    stored, _, (offer_id,) = await services.submit_lead(lead("wh-m"), actor=SYSTEM, source=SRC)
    acme = await actor_for(services, "UACME")
    await services.run(accept_offer, offer_id=offer_id, actor=acme, source=SRC)
    await services.run(set_stage, lead_id=stored.id, stage=Stage.CONTACTED, actor=acme, source=SRC)
    await deliver_all(services)
    seen = len(receiver.events)
    taken = await services.run(reassign_lead, lead_id=stored.id, actor=MANAGER, source=SRC)
    assert taken.ok, taken.message
    await deliver_all(services)
    back, offered = receiver.events[seen:]
    assert (back["event"], back["data"]) == (
        "lead.stage_changed",
        {"from": "contacted", "to": "none", "partner": "acme", "reason": "taken back"},
    )
    assert (offered["event"], offered["data"]["partner"]) == ("offer.created", "beta")
    seen = len(receiver.events)
    given = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="acme", actor=MANAGER, source=SRC
    )
    assert given.ok, given.message
    await deliver_all(services)
    (assigned,) = receiver.events[seen:]
    assert assigned["event"] == "offer.accepted"
    assert {k: assigned["data"][k] for k in ("partner", "mode")} == {
        "partner": "acme",
        "mode": "manual",
    }


async def test_a_lead_nobody_takes_reports_each_step_to_the_crm(services, receiver, clock):
    """ACME declines, Beta lets the window pass, nobody is left: the CRM hears offer.declined,
    offer.expired and lead.unassigned, in that order, each with what it needs."""
    both = [partner("acme", priority=1), partner("beta", priority=2)]
    await _configure(services, receiver, both, max_rounds=2)
    stored, _, (first,) = await services.submit_lead(lead("wh-n"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    acme = await actor_for(services, "UACME")
    declined = await services.run(
        decline_offer, offer_id=first, actor=acme, reason="no_capacity", source=SRC
    )
    assert declined.ok
    await deliver_all(services)
    clock.advance(timedelta(minutes=31))  # Beta's window runs out
    await services.scheduler.sweep()
    await deliver_all(services)
    assert [e["event"] for e in receiver.events] == [
        "lead.created",
        "offer.created",
        "offer.declined",
        "offer.created",
        "offer.expired",
        "lead.unassigned",
    ]
    by_kind = {e["event"]: e for e in receiver.events}
    assert by_kind["offer.declined"]["data"]["decline_reason"] == "no_capacity"
    assert by_kind["offer.declined"]["data"]["partner"] == "acme"
    assert by_kind["offer.expired"]["data"]["partner"] == "beta"
    assert by_kind["lead.unassigned"]["data"]["reason"] == "nobody took it in 2 rounds"
    assert {e["lead"]["id"] for e in receiver.events} == {stored.public_id}


async def test_an_endpoint_that_hangs_costs_one_timeout_a_pass_not_one_per_event(
    services, receiver
):
    """A CRM that takes connections and never answers: its first event waits out the
    timeout, the rest of its events are put back behind it (as a chat's outage is), and a
    second CRM's events go out in the same pass, each in its own lane."""
    import asyncio

    from bot.webhooks import WebhookPoster

    tried, release = [], asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        tried.append(await request.read())
        await release.wait()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/leadbot", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        doc = config([partner("acme")])
        doc["webhooks"] = [
            {"url": u, "secret_env": "CRM_WEBHOOK_SECRET", "events": ["lead.created"]}
            for u in (f"http://127.0.0.1:{port}/hooks/leadbot", receiver.url)
        ]
        await apply(services, doc)
        services.sender.delivery.webhooks._poster = WebhookPoster(timeout=0.2)
        for i in range(5):
            await services.submit_lead(lead(f"wh-h{i}"), actor=SYSTEM, source=SRC)
        await services.sender.drain_once()  # claims every event: 5 for each endpoint
        assert len(tried) == 1
        assert len(receiver.events) == 5
        async with services.uow() as uow:
            waiting = await uow.execute(
                select(outbox.c.attempts, outbox.c.last_error).where(
                    outbox.c.status == "pending", outbox.c.kind == "webhook"
                )
            )
            rows = sorted(waiting.all(), reverse=True)
        assert [a for a, _ in rows] == [1, 0, 0, 0, 0]  # one try counted, four held
    finally:
        release.set()
        await runner.cleanup()
