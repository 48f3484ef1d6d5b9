"""The express lane: a new lead's first card goes out straight after the commit that made the
offer, claimed in that same transaction, without waiting for an outbox pass."""

from __future__ import annotations

import asyncio
import json
import socketserver
import threading
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import build
from bot.config import Settings
from bot.dispatch.context import ReadyCard
from bot.domain.offers import OfferStatus
from bot.handlers.slack import SlackMessenger
from tests.conftest import deliver_all, unpaced
from tests.factories import SRC, SYSTEM, apply, config, lead, partner


async def test_the_first_card_goes_out_without_an_outbox_pass(services, slack):
    await apply(services, config([partner("acme")]))
    services.ctx.hooks.express = services.sender  # as `start` wires it, but no outbox passes
    stored, _, (offer_id,) = await services.submit_lead(lead("x-1"), actor=SYSTEM, source=SRC)
    async with asyncio.timeout(5):
        while True:  # bounded: the card and its delivery record land within the timeout
            async with services.uow() as uow:
                offer = await uow.offers.get(offer_id)
            if offer.delivered_at is not None:
                break
            await asyncio.sleep(0.01)
    (card,) = slack.offers_to("C-acme")
    assert card.lead_ref == stored.public_id and offer.status is OfferStatus.PENDING
    async with services.uow() as uow:
        assert await uow.outbox.count(status="pending") == 0
        assert await uow.outbox.count(status="sent") == 1


class DeadLane:
    """A process that committed the offer and died before its express send."""

    claim, lease = "dead-process", timedelta(seconds=60)

    def send(self, cards: list[ReadyCard]) -> None:
        self.lost = cards

    async def reserve(self, uow, dest) -> None:
        return None  # its messengers were not paced


async def test_a_card_lost_with_its_process_is_sent_by_any_sender_once_the_claim_lapses(
    services, slack, clock
):
    await apply(services, config([partner("acme")]))
    services.ctx.hooks.express = dead = DeadLane()
    await services.submit_lead(lead("x-2"), actor=SYSTEM, source=SRC)
    assert len(dead.lost) == 1 and slack.offers_to("C-acme") == []
    assert await services.sender.drain_once() == 0  # still claimed by the dead process
    clock.advance(timedelta(seconds=61))
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 1


async def test_an_express_card_whose_claim_ran_low_is_renewed_and_one_that_lapsed_is_left(
    services, slack, clock
):
    await apply(services, config([partner("acme")]))
    services.ctx.hooks.express = dead = DeadLane()
    await services.submit_lead(lead("x-3"), actor=SYSTEM, source=SRC)
    (ready,) = dead.lost
    clock.advance(timedelta(seconds=40))  # past half the lease: renewed before sending
    assert await services.sender._still_ours(ready)
    clock.advance(timedelta(seconds=61))  # the renewed claim lapsed: another sender takes it
    assert await services.sender.drain_once() == 1
    assert not await services.sender._still_ours(ready)
    assert len(slack.offers_to("C-acme")) == 1


class WireSlack:
    """A Slack Web API on loopback served from a thread of its own: it sees a request the
    moment its bytes reach the socket, even while the test holds the event loop."""

    def __init__(self) -> None:
        self.posts = 0
        self.arrived = threading.Condition()
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while line := self.rfile.readline():  # one keep-alive connection, many requests
                    length = 0
                    while line not in (b"\r\n", b"\n", b""):
                        name, _, value = line.decode().partition(":")
                        if name.lower() == "content-length":
                            length = int(value)
                        line = self.rfile.readline()
                    self.rfile.read(length)
                    with owner.arrived:
                        owner.posts += 1
                        owner.arrived.notify_all()
                    body = json.dumps({"ok": True, "channel": "C-acme", "ts": f"1.{owner.posts}"})
                    self.wfile.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
                    )

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def holds(self, posts: int, *, timeout: float) -> bool:
        """Blocks the calling thread (the event loop): nothing more can be sent meanwhile."""
        with self.arrived:
            return self.arrived.wait_for(lambda: self.posts >= posts, timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def settled(sender) -> None:
    """Bounded: the express sends under way are done, their answers read and recorded."""
    if sender._express:
        await asyncio.wait(sender._express, timeout=5)


async def test_a_new_leads_card_is_on_the_wire_before_submit_lead_returns(database_url, clock):
    """The caller (the API, about to read its answer) goes on only once the card's request
    has reached the socket: the card comes first, not after the answer's reads."""
    wire = WireSlack()
    slack = SlackMessenger(AsyncWebClient(token="xoxb-test", base_url=wire.url))
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    services = unpaced(build(settings, messengers={"slack": slack}, clock=clock))
    try:
        await apply(services, config([partner("acme")]))
        services.ctx.hooks.express = services.sender
        await services.submit_lead(lead("w-1"), actor=SYSTEM, source=SRC)
        # the first card also opens the connection; wait for it off the loop, and for its
        # answer to be read, so the connection is idle in the pool again: a second lead's card
        # that has to open a connection of its own is not waited for (see on_the_wire)
        assert await asyncio.to_thread(wire.holds, 1, timeout=5)
        await settled(services.sender)
        await services.submit_lead(lead("w-2"), actor=SYSTEM, source=SRC)
        # the loop is held from here: a card still waiting for a loop turn never arrives
        assert wire.holds(2, timeout=5), "the card was not on the wire when submit_lead returned"
        await settled(services.sender)
    finally:
        await services.close()
        wire.close()
