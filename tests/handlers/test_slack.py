"""Slack over real HTTP on loopback: a fake Slack Web API records what the bot sends, and every
interaction is a signed request to `/slack/events` in the shapes of ../shared/payloads/slack."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import urllib.parse
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.bootstrap import build
from bot.config import Settings
from bot.domain.leads import DispatchStatus, Lead, Stage
from bot.handlers.http import create_app
from bot.sandbox.slack import HOME, FakeSlack, blocks_text, buttons, form, sign
from tests.conftest import deliver_all, unpaced
from tests.e2e.serving import serve_app
from tests.factories import SRC, SYSTEM, apply, config, lead, partner

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "slack"  # Slack's own shapes
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def acme_and_beta() -> dict[str, Any]:
    acme = partner("acme", slack_channel="C0ACME", priority=1)
    acme["members"] = [{"name": "Bob", "slack": "U0BOB", "role": "partner_admin"}]
    beta = partner("beta", slack_channel="C0BETA", priority=2)
    beta["members"] = [{"name": "Carla", "slack": "U0CARLA", "role": "partner_rep"}]
    return config([acme, beta])


class Http:
    """Slack's side of HTTP mode: every interaction a signed POST to /slack/events."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an interaction; Bolt's acknowledgement body ({} when empty)."""
        response = await post(self.client, form(payload))
        assert response.status_code == 200, response.text
        return response.json() if response.content else {}

    async def command(self, fields: dict[str, str]) -> None:
        response = await post(self.client, urllib.parse.urlencode(fields))
        assert response.status_code == 200, response.text

    async def event(self, body: dict[str, Any]) -> None:
        text = json.dumps(body)
        headers = {**sign(SECRET, text), "Content-Type": "application/json"}
        response = await self.client.post("/slack/events", content=text, headers=headers)
        assert response.status_code == 200, response.text


class Socket:
    """Slack's side of Socket Mode: envelopes over the WebSocket, acknowledged by the app."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    async def _send(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        envelope = await self.fake.socket.send(kind, payload)
        async with asyncio.timeout(10):
            return await self.fake.socket.ack(envelope)

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._send("interactive", payload)

    async def command(self, fields: dict[str, str]) -> None:
        await self._send("slash_commands", fields)

    async def event(self, body: dict[str, Any]) -> None:
        await self._send("events_api", body)


@contextlib.asynccontextmanager
async def running(
    database_url: str, clock: Any, *, socket: bool = False, document: Any = None, **extra: Any
) -> AsyncIterator[tuple[FakeSlack, Any, httpx.AsyncClient, Http | Socket]]:
    """Leadbot with Slack against the fake, in HTTP mode or in Socket Mode (no signing secret
    then: /slack/events is not even served)."""
    fake = FakeSlack()
    await fake.start()
    mode = {"slack_app_token": "xapp-1-test"} if socket else {"slack_signing_secret": SECRET}
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_api_url=f"{fake.url}/api/",
        _env_file=None,
        **mode,
        **extra,
    )
    services = unpaced(build(settings, clock=clock))
    port, stop = await serve_app(create_app(services))
    try:
        for start in services.starters:  # as `leadbot serve` does: Socket Mode connects here
            await start()
        if socket:
            async with asyncio.timeout(10):
                await fake.socket.connected()
        await apply(services, document if document is not None else acme_and_beta())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield fake, services, client, Socket(fake) if socket else Http(client)
    finally:
        await stop()
        await services.close()
        await fake.stop()


@pytest.fixture
async def slack_bot(database_url, clock):
    async with running(database_url, clock) as (fake, services, client, _http):
        yield fake, services, client


def press_body(
    fake: FakeSlack, user: str, value: str, channel: str, ts: str, *, team: str = HOME
) -> dict[str, Any]:
    """A button press in Slack's shape; `team`: the presser's own workspace (Slack Connect
    users come from another one, into a channel of ours)."""
    body = copy.deepcopy(payload("block_actions.json"))
    body["user"] = {"id": user, "username": user.lower(), "name": user, "team_id": team}
    body["actions"][0].update(action_id="leadbot:0", block_id="leadbot_buttons", value=value)
    body["container"].update(channel_id=channel, message_ts=ts)
    body["channel"]["id"] = channel
    body["response_url"] = f"{fake.url}/respond/{user}"
    return body


async def until(predicate: Any) -> None:
    """Bolt acknowledges first and works after: wait (bounded) for the work to show."""
    async with asyncio.timeout(10):
        while not await predicate():  # noqa: ASYNC110 -- the condition is in the db or the fake
            await asyncio.sleep(0.01)


async def _true(value: object) -> bool:
    return bool(value)


async def _eq(value: Any, expected: object) -> bool:
    return await value == expected


async def offer_status(services, offer_id: int) -> str:
    async with services.uow() as uow:
        return str((await uow.offers.get(offer_id)).status)


async def post(client: httpx.AsyncClient, body: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/slack/events", content=body, headers={**sign(SECRET, body), **headers}
    )


def modal_body(fake: FakeSlack, user: str, answer: str, *, team: str = HOME) -> dict[str, Any]:
    """The submission of the last modal opened, answered with `answer`."""
    view = json.loads(json.dumps(fake.called("views.open")[-1]["view"]))
    body = copy.deepcopy(payload("view_submission.json"))
    body["user"] = {"id": user, "username": user.lower(), "name": user, "team_id": team}
    body["view"].update(callback_id=view["callback_id"], private_metadata=view["private_metadata"])
    element = view["blocks"][0]["element"]
    if element["type"] == "static_select":
        field = {"type": "static_select", "selected_option": {"value": answer}}
    else:
        field = {"type": "plain_text_input", "value": answer}
    body["view"]["state"] = {"values": {"answer": {"answer": field}}}
    return body


async def answer_modal(client, fake: FakeSlack, user: str, answer: str) -> httpx.Response:
    return await post(client, form(modal_body(fake, user, answer)))


@pytest.mark.parametrize("socket", [False, True], ids=["http", "socket-mode"])
async def test_the_whole_conversation_in_slack(database_url, clock, socket):
    """Lead in, card in ACME's channel, Bob declines with a reason, card in Beta's channel and
    ACME's card edited, Beta accepts, contact and stage buttons, Opportunity, Won: over HTTP,
    and the same over Socket Mode (a real WebSocket, no /slack/events at all)."""
    async with running(database_url, clock, socket=socket) as (fake, services, client, slack):
        if socket:
            refused = await post(client, form({"type": "block_actions"}))
            assert refused.status_code == 404  # no public endpoint: everything is on the socket
        await converse(fake, services, slack)
        health = (await client.get("/healthz")).json()["chat"]["slack"]
        assert health == ("socket mode: connected" if socket else "http mode (/slack/events)")
    if socket:
        assert fake.socket.connections == 1
        assert all(
            call.token == "xapp-1-test" for call in fake.calls if "connections" in call.method
        )


async def test_socket_mode_reconnects_when_slack_asks(database_url, clock):
    """Slack refreshes Socket Mode connections now and then: the app opens a new one (a new
    apps.connections.open) and goes on answering there."""
    async with running(database_url, clock, socket=True) as (fake, services, _client, slack):
        await fake.socket.refresh()
        async with asyncio.timeout(10):
            await fake.socket.reconnected(2)
        assert len(fake.called("apps.connections.open")) == 2
        fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text().strip()))
        fields.update(user_id="U0BOB", response_url=f"{fake.url}/respond/cmd", text="help")
        await slack.command(fields)
        await until(lambda: _true(fake.responses))
        assert "What you can run" in fake.responses[0]["text"]


async def converse(fake: FakeSlack, services: Any, slack: Http | Socket) -> None:
    stored, _, _ = await services.submit_lead(
        lead("s-1", need="Heat pump <!channel> & more"), actor=SYSTEM, source=SRC
    )
    await deliver_all(services)
    (card,) = fake.posts_to("C0ACME")
    assert "<!channel>" not in blocks_text(card) and "&lt;!channel&gt; &amp; more" in blocks_text(
        card
    )
    assert "<@U0BOB>" in blocks_text(card) and "<!date^" in blocks_text(card)
    acme_ts = "1700000000.000100"
    decline = buttons(card)["Decline"]

    # Bob declines: a modal asks why, his answer declines the offer
    assert await slack.interact(press_body(fake, "U0BOB", decline, "C0ACME", acme_ts)) == {}
    await until(lambda: _true(fake.called("views.open")))
    modal = fake.called("views.open")[-1]["view"]
    assert "not_my_area" in json.dumps(modal)
    assert await slack.interact(modal_body(fake, "U0BOB", "not_my_area")) == {}
    await deliver_all(services)
    assert "Declined by Bob (not_my_area)" in blocks_text(fake.latest("C0ACME", acme_ts))
    (beta_card,) = fake.posts_to("C0BETA")
    beta_ts = "1700000000.000101"

    # a stranger, and Bob (another partner's admin), cannot take Beta's card
    accept = buttons(beta_card)["Accept"]
    await slack.interact(press_body(fake, "U0EVE", accept, "C0BETA", beta_ts))
    await until(lambda: _true(len(fake.responses) == 1))
    await slack.interact(press_body(fake, "U0BOB", accept, "C0BETA", beta_ts))
    await until(lambda: _true(len(fake.responses) == 2))
    assert [r["response_type"] for r in fake.responses] == ["ephemeral", "ephemeral"]
    assert "not linked" in fake.responses[0]["text"]
    assert "Not for you" in fake.responses[1]["text"]
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).status is DispatchStatus.OFFERED

    # Carla accepts: the contact and the stage buttons appear on her card
    await slack.interact(press_body(fake, "U0CARLA", accept, "C0BETA", beta_ts))
    beta_offer = int(accept.split(":")[1])
    await until(lambda: _eq(offer_status(services, beta_offer), "accepted"))
    await deliver_all(services)
    mine = fake.latest("C0BETA", beta_ts)
    assert "Max Kunde" in blocks_text(mine) and "Opportunity" in buttons(mine)
    assert "Accepted by <@U0CARLA> at " in blocks_text(mine)  # a mention: her name, clickable

    # Opportunity, then Won, each with a value asked in a modal; a bad amount is refused there
    value = buttons(fake.latest("C0BETA", beta_ts))["Opportunity"]
    await slack.interact(press_body(fake, "U0CARLA", value, "C0BETA", beta_ts))
    await until(lambda: _true(len(fake.called("views.open")) == 2))
    assert await slack.interact(modal_body(fake, "U0CARLA", "lots")) == {
        "response_action": "errors",
        "errors": {"answer": "'lots' is not an amount."},
    }
    for stage, amount in (("Opportunity", "18,000"), ("Won", "20000")):
        value = buttons(fake.latest("C0BETA", beta_ts))[stage]
        asked = len(fake.called("views.open"))
        await slack.interact(press_body(fake, "U0CARLA", value, "C0BETA", beta_ts))
        await until(lambda asked=asked: _true(len(fake.called("views.open")) > asked))
        assert await slack.interact(modal_body(fake, "U0CARLA", amount)) == {}
        await deliver_all(services)
        if stage == "Opportunity":
            async with services.uow() as uow:
                assert (await uow.leads.get(stored.id)).stage_value == 18000
    async with services.uow() as uow:
        final = await uow.leads.get(stored.id)
    assert final.stage is Stage.WON and final.stage_value == 20000
    assert "won" in blocks_text(fake.latest("C0BETA", beta_ts)).lower()


async def test_a_slow_modal_answer_closes_the_modal_in_time_and_still_counts(
    slack_bot, monkeypatch
):
    """Slack drops a modal answer not acknowledged within 3 s: when the work is slow (a busy
    database), the modal is closed at once and the work finishes; the decline stands."""
    from bot.handlers.slack import listeners

    fake, services, client = slack_bot
    _, _, (offer_id,) = await services.submit_lead(lead("s-9"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    ts = "1700000000.000100"
    await post(client, form(press_body(fake, "U0BOB", f"o:{offer_id}:d", "C0ACME", ts)))
    await until(lambda: _true(fake.called("views.open")))
    monkeypatch.setattr(listeners, "ACK_WITHIN", 0)  # no work fits: the modal closes at once
    closed = await answer_modal(client, fake, "U0BOB", "not_my_area")
    assert closed.status_code == 200 and not closed.content  # a plain ack
    await until(lambda: _eq(offer_status(services, offer_id), "declined"))


async def bob_asked_for(fake: FakeSlack, services: Any, client: Any, ref: str, code: str) -> Lead:
    """Bob takes a new lead, then presses the stage button `code` on its card: the lead,
    once the modal that asks for the rest is open."""
    stored, _, (offer_id,) = await services.submit_lead(lead(ref), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    ts = "1700000000.000100"
    await post(client, form(press_body(fake, "U0BOB", f"o:{offer_id}:a", "C0ACME", ts)))
    await until(lambda: _eq(offer_status(services, offer_id), "accepted"))
    await post(client, form(press_body(fake, "U0BOB", f"l:{stored.id}:{code}", "C0ACME", ts)))
    await until(lambda: _true(fake.called("views.open")))
    return stored


async def test_a_bad_amount_is_refused_in_the_modal(slack_bot):
    fake, services, client = slack_bot
    await bob_asked_for(fake, services, client, "s-2", "w")
    refused = await answer_modal(client, fake, "U0BOB", "lots")
    assert refused.status_code == 200
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"answer": "'lots' is not an amount."},
    }


async def test_forged_or_stale_signatures_get_401_and_change_nothing(slack_bot):
    fake, services, client = slack_bot
    _, _, (offer_id,) = await services.submit_lead(lead("s-3"), actor=SYSTEM, source=SRC)
    body = form(press_body(fake, "U0BOB", f"o:{offer_id}:a", "C0ACME", "1.0"))
    forged = await client.post(
        "/slack/events", content=body, headers={**sign("not-the-secret", body)}
    )
    stale = await client.post(
        "/slack/events", content=body, headers=sign(SECRET, body, timestamp=1531420618)
    )
    assert forged.status_code == stale.status_code == 401
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status == "pending"


def test_our_signing_matches_slacks_known_answer():
    vector = payload("signature_vector.json")
    headers = sign(vector["signing_secret"], vector["body"], timestamp=int(vector["timestamp"]))
    assert headers["X-Slack-Signature"] == vector["signature"]


async def test_the_lead_command_answers_privately_with_the_chart_uploaded(slack_bot):
    fake, services, client = slack_bot
    await services.submit_lead(lead("s-4"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text().strip()))
    fields.update(user_id="U0BOB", response_url=f"{fake.url}/respond/cmd", text="funnel 7d")
    body = urllib.parse.urlencode(fields)
    assert (await post(client, body)).status_code == 200
    async with asyncio.timeout(10):
        while not fake.called("files.completeUploadExternal"):  # noqa: ASYNC110 -- bounded
            await asyncio.sleep(0.02)
    answer = fake.responses[0]
    assert answer["response_type"] == "ephemeral" and "Funnel: Acme" in answer["text"]
    assert fake.called("upload")[0]["bytes"] > 10_000
    # the chart goes to the person who asked, not to the channel: the answer is private
    assert fake.called("files.completeUploadExternal")[0]["channel_id"] == "DU0BOB"
    fields.update(user_id="U0EVE", text="partners")
    await post(client, urllib.parse.urlencode(fields))
    async with asyncio.timeout(10):
        while len(fake.responses) < 2:  # noqa: ASYNC110 -- bounded
            await asyncio.sleep(0.02)
    assert "not linked" in fake.responses[1]["text"]
    fields.update(user_id="U0ADA", text="funnel a&amp;b")  # Slack escapes what was typed
    await post(client, urllib.parse.urlencode(fields))
    async with asyncio.timeout(10):
        while len(fake.responses) < 3:  # noqa: ASYNC110 -- bounded
            await asyncio.sleep(0.02)
    said = fake.responses[2]["text"]
    assert said == "There is no partner 'a&amp;b'"  # escaped once, for Slack


async def test_a_managers_report_asked_in_their_channel_is_answered_there(slack_bot):
    """In the managers' own channel a manager's report (and its chart) is for all of them; a
    refusal there, and the same report asked anywhere else, stay private."""
    fake, services, client = slack_bot
    await services.submit_lead(lead("s-8"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text().strip()))

    async def ask(channel: str, words: str) -> dict[str, Any]:
        fields.update(
            user_id="U0ADA", channel_id=channel, text=words,
            response_url=f"{fake.url}/respond/{len(fake.responses)}",
        )  # fmt: skip
        seen = len(fake.responses)
        assert (await post(client, urllib.parse.urlencode(fields))).status_code == 200
        await until(lambda: _true(len(fake.responses) > seen))
        return fake.responses[-1]

    shared = await ask("C0MANAGERS", "funnel all 7d")
    assert shared["response_type"] == "in_channel" and "Funnel: all partners" in shared["text"]
    await until(lambda: _true(fake.called("files.completeUploadExternal")))
    assert fake.called("files.completeUploadExternal")[-1]["channel_id"] == "C0MANAGERS"
    refused = await ask("C0MANAGERS", "funnel ghost")
    assert refused["response_type"] == "ephemeral" and "no partner 'ghost'" in refused["text"]
    elsewhere = await ask("C0ACME", "open")
    assert elsewhere["response_type"] == "ephemeral" and "Open: 1" in elsewhere["text"]
    assert (await ask("C0MANAGERS", "help"))["response_type"] == "ephemeral"


@pytest.mark.parametrize(
    "error",
    [
        payload("post_error_channel_not_found.json")["error"],
        payload("post_error_not_in_channel.json")["error"],
        "is_archived",
    ],
)
async def test_a_channel_that_is_gone_is_marked_broken_and_the_managers_told_once(slack_bot, error):
    fake, services, client = slack_bot
    fake.fail["C0ACME"] = error
    stored, _, (offer_id,) = await services.submit_lead(lead("s-5"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    assert await offer_status(services, offer_id) == "undeliverable"
    assert len(fake.posts_to("C0BETA")) == 1  # passed on to the next partner at once
    (notice,) = fake.posts_to("C0MANAGERS")
    told = blocks_text(notice)
    assert "Acme's slack chat C0ACME is unreachable" in told and error in told
    assert "config apply" in told and f"Lead {stored.public_id} was passed on" in told

    # the channel is marked broken: the next lead skips it at once, and the managers are not
    # told again; /healthz counts it
    _, _, (second,) = await services.submit_lead(lead("s-6"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    assert await offer_status(services, second) == "pending"  # Beta's, made at once
    assert len(fake.posts_to("C0ACME")) == 1  # the first attempt only
    assert len(fake.posts_to("C0BETA")) == 2
    assert len(fake.posts_to("C0MANAGERS")) == 1
    health = (await client.get("/healthz")).json()
    assert health["broken_chats"] == 1  # reported, not a failure of Leadbot itself

    # fixed (the bot invited back) and declared again: cards go there again
    del fake.fail["C0ACME"]
    await apply(services, acme_and_beta())
    await services.submit_lead(lead("s-7"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    assert len(fake.posts_to("C0ACME")) == 2
    assert "broken_chats" not in (await client.get("/healthz")).json()


async def test_late_presses_are_told_what_happened_and_ask_nothing(slack_bot, clock):
    """A card still showing old buttons somewhere: Decline on an offer that expired meanwhile,
    and Lost on a lead already won, are answered privately at once; no modal opens."""
    fake, services, client = slack_bot
    stored, _, (offer_id,) = await services.submit_lead(lead("s-late"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    ts = "1700000000.000100"
    clock.advance(timedelta(minutes=31))  # the window runs out: the lead goes on to Beta
    await services.scheduler.sweep()
    await post(client, form(press_body(fake, "U0BOB", f"o:{offer_id}:d", "C0ACME", ts)))
    await until(lambda: _true(fake.responses))
    assert fake.responses[-1]["response_type"] == "ephemeral"
    assert fake.responses[-1]["text"] == "This offer expired and was passed on."

    async with services.uow() as uow:
        (beta_offer,) = [o for o in await uow.offers.list_for_lead(stored.id) if o.id != offer_id]
    await post(client, form(press_body(fake, "U0CARLA", f"o:{beta_offer.id}:a", "C0BETA", ts)))
    await until(lambda: _eq(offer_status(services, beta_offer.id), "accepted"))
    async with services.uow() as uow:
        await uow.leads.cas(stored.id, expect={}, now=clock.now(), stage=Stage.WON)
        await uow.commit()
    await post(client, form(press_body(fake, "U0CARLA", f"l:{stored.id}:l", "C0BETA", ts)))
    await until(lambda: _true(len(fake.responses) == 2))
    assert "already closed as 'won'" in fake.responses[-1]["text"]
    assert fake.called("views.open") == []  # nothing was asked
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).stage is Stage.WON


async def test_lost_asks_for_one_of_the_policys_reasons_in_a_modal(slack_bot):
    fake, services, client = slack_bot
    stored = await bob_asked_for(fake, services, client, "s-lost", "l")
    modal = fake.called("views.open")[-1]["view"]
    element = modal["blocks"][0]["element"]
    assert element["type"] == "static_select"
    assert [o["value"] for o in element["options"]] == [
        "price", "competitor", "no_response", "not_qualified", "timing",
    ]  # fmt: skip
    answered = await answer_modal(client, fake, "U0BOB", "competitor")
    assert answered.status_code == 200 and not answered.content  # the modal closes
    async with services.uow() as uow:
        final = await uow.leads.get(stored.id)
    assert (final.stage, final.lost_reason) == (Stage.LOST, "competitor")
