"""Partners in other Slack workspaces: Slack Connect users (identities keyed by team and user),
the multi-workspace install (OAuth with an invite, the partner's own token for its cards), and
a workspace going away (uninstalled, token revoked): every chat there broken, managers told once.
"""

from __future__ import annotations

import html
import logging
import re
import urllib.parse
from typing import Any

import httpx
import pytest

from bot.dispatch.installs import invite_install
from bot.dispatch.linking import invite_member
from bot.sandbox.slack import HOME, FakeSlack, Install, blocks_text
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, config, lead, partner
from tests.handlers.test_slack import (
    PAYLOADS,
    _eq,
    _true,
    offer_status,
    press_body,
    running,
    until,
)

TS = "1700000000.000100"
OAUTH = {
    "slack_client_id": "1111.2222",
    "slack_client_secret": "client-secret",
    "leadbot_public_url": "https://leads.example.com",
}


def people(**members: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "role": "partner_rep", **m} for name, m in members.items()]


def connect_doc() -> dict[str, Any]:
    """ACME's channel is ours, shared by Slack Connect with ACME's own workspace T0ACMECO,
    where Dan works; Bob is one of ours."""
    acme = partner(
        "acme",
        slack_channel="C0SHARED",
        members=people(
            Dan={"slack": "U0DAN", "slack_team": "T0ACMECO"},
            Bob={"slack": "U0BOB"},
            Erin={"telegram": 5005},
        ),
    )
    return config([acme])


async def test_a_slack_connect_user_is_known_by_team_and_user(database_url, clock):
    async with running(database_url, clock, document=connect_doc()) as (fake, services, _c, slack):
        _, _, (offer_id,) = await services.submit_lead(lead("c-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        accept = f"o:{offer_id}:a"
        # Dan's id, but from another workspace; Bob's id, but not from ours: strangers both
        await slack.interact(press_body(fake, "U0DAN", accept, "C0SHARED", TS, team="T0OTHER"))
        await slack.interact(press_body(fake, "U0BOB", accept, "C0SHARED", TS, team="T0OTHER"))
        await until(lambda: _true(len(fake.responses) == 2))
        assert all("not linked" in r["text"] for r in fake.responses)
        assert await offer_status(services, offer_id) == "pending"
        # Dan from ACME's own workspace, in our shared channel: his press counts
        await slack.interact(press_body(fake, "U0DAN", accept, "C0SHARED", TS, team="T0ACMECO"))
        await until(lambda: _eq(offer_status(services, offer_id), "accepted"))
        async with services.uow() as uow:
            assert (await uow.offers.get(offer_id)).responder.startswith("Dan")


async def test_a_slack_connect_user_links_with_a_code_under_their_own_team(database_url, clock):
    async with running(database_url, clock, document=connect_doc()) as (fake, services, _c, slack):
        code = await services.run(invite_member, name="Erin", partner_slug="acme")
        fake.user_teams["U0ERIN"] = "T0ACMECO"  # what users.info says of her
        fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text().strip()))
        fields.update(user_id="U0ERIN", response_url=f"{fake.url}/respond/cmd", text=f"link {code}")
        await slack.command(fields)  # the command came through our workspace (team_id: ours)
        await until(lambda: _true(fake.responses))
        assert "Linked: you are Erin" in blocks_text(fake.responses[0])
        async with services.uow() as uow:
            assert await uow.members.identity_owner(
                platform="slack", team="T0ACMECO", external_id="U0ERIN"
            )
            assert not await uow.members.identity_owner(
                platform="slack", team=HOME, external_id="U0ERIN"
            )


def installing_doc() -> dict[str, Any]:
    """Beta and Gamma work in the partner workspace T0PARTNER (the app installed there), ACME
    in ours; Beta first, then Gamma, then ACME."""
    beta = partner("beta", slack_channel="C0BETA", slack_team="T0PARTNER", priority=1)
    beta["members"] = people(Carla={"slack": "U0CARLA"})  # in T0PARTNER, as Beta is
    gamma = partner("gamma", slack_channel="C0GAMMA", slack_team="T0PARTNER", priority=2)
    acme = partner("acme", slack_channel="C0ACME", priority=3)
    return config([beta, gamma, acme])


async def install(
    client: httpx.AsyncClient, fake: FakeSlack, services: Any, slug: str, *, team: str, token: str
) -> httpx.Response:
    """The partner's admin opens the install link, consents in Slack, comes back."""
    invite = await services.run(invite_install, partner_slug=slug)
    page = await client.get("/slack/install", params={"invite": invite})
    assert page.status_code == 200, page.text
    authorize = html.unescape(re.search(r'href="([^"]+)"', page.text).group(1))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    assert authorize.startswith("https://slack.com/oauth/v2/authorize?")
    assert query["redirect_uri"] == "https://leads.example.com/slack/oauth_redirect"
    assert query["client_id"] == "1111.2222" and "chat:write" in query["scope"]
    state = query["state"]
    assert f"slack-app-oauth-state={state}" in page.headers["set-cookie"]
    fake.installs[f"code-{team}"] = Install(team, f"{team} Inc.", token)
    return await client.get(
        "/slack/oauth_redirect",
        params={"code": f"code-{team}", "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )


async def test_an_installed_partner_gets_its_cards_with_its_workspaces_token(
    database_url, clock, caplog
):
    doc = installing_doc()
    async with running(database_url, clock, document=doc, **OAUTH) as bot:
        fake, services, client, slack = bot
        caplog.set_level(logging.DEBUG)
        done = await install(client, fake, services, "beta", team="T0PARTNER", token="xoxb-beta")
        assert done.status_code == 200 and "Leadbot is installed in T0PARTNER Inc." in done.text
        ours = [r.getMessage() for r in caplog.records if r.name.startswith(("slack", "bot"))]
        assert ours and not any("xoxb-beta" in m for m in ours)  # a secret, even when debugging
        caplog.set_level(logging.WARNING)
        async with services.uow() as uow:
            stored = await uow.installs.get("T0PARTNER")
        assert stored is not None and stored.bot_token == "xoxb-beta"
        assert "xoxb-beta" not in repr(stored)  # a secret: never in a log line
        await deliver_all(services)
        (told,) = fake.posts_to("C0MANAGERS")
        assert "Beta installed Leadbot in their Slack workspace T0PARTNER Inc." in blocks_text(told)

        _, _, (offer_id,) = await services.submit_lead(lead("w-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        assert fake.tokens_used("chat.postMessage", "C0BETA") == ["xoxb-beta"]
        assert fake.tokens_used("chat.postMessage", "C0MANAGERS") == ["xoxb-test"]

        # a press in Beta's workspace is authorized with that workspace's token (Bolt's client
        # in the listener speaks there: the decline modal opens with it)
        body = press_body(fake, "U0CARLA", f"o:{offer_id}:d", "C0BETA", TS, team="T0PARTNER")
        body["team"] = {"id": "T0PARTNER", "domain": "partner"}
        await slack.interact(body)
        await until(lambda: _true(fake.called("views.open")))
        assert [c.token for c in fake.calls if c.method == "views.open"] == ["xoxb-beta"]


async def test_install_links_are_checked_and_a_refusal_stores_nothing(database_url, clock):
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, _slack = bot
        bare = await client.get("/slack/install")
        forged = await client.get("/slack/install", params={"invite": "made-up"})
        assert bare.status_code == forged.status_code == 400
        assert "unknown, used or expired" in forged.text

        # the wrong workspace for Beta: refused, not stored, and its new token given back
        wrong = await install(client, fake, services, "beta", team="T0WRONG", token="xoxb-wrong")
        assert wrong.status_code == 400
        assert "expects Beta in the Slack workspace T0PARTNER" in wrong.text
        assert "xoxb-wrong" in fake.revoked

        # no cookie from the install page (another browser, a forged link): refused
        invite = await services.run(invite_install, partner_slug="beta")
        page = await client.get("/slack/install", params={"invite": invite})
        state = re.search(r"state=([\w-]+)", html.unescape(page.text)).group(1)
        fake.installs["code-ok"] = Install("T0PARTNER", "Partner", "xoxb-beta")
        alien = await client.get(
            "/slack/oauth_redirect", params={"code": "code-ok", "state": state}
        )
        assert alien.status_code == 400 and "in this browser" in alien.text

        # the same state twice: the second is refused
        cookie = {"Cookie": f"slack-app-oauth-state={state}"}
        params = {"code": "code-ok", "state": state}
        assert (await client.get("/slack/oauth_redirect", params=params, headers=cookie)).is_success
        again = await client.get("/slack/oauth_redirect", params=params, headers=cookie)
        assert again.status_code == 401 and "expired or was used" in again.text
        # ...and the invite it came from is used up
        reuse = await client.get("/slack/install", params={"invite": invite})
        assert reuse.status_code == 400
        async with services.uow() as uow:
            assert await uow.installs.get("T0WRONG") is None
            assert (await uow.installs.get("T0PARTNER")).bot_token == "xoxb-beta"


async def test_partners_invite_needs_a_known_partner(database_url, clock):
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        services = bot[1]
        refused = await services.run(invite_install, partner_slug="ghost")
        assert not isinstance(refused, str) and "no partner 'ghost'" in refused.message


def event(kind: str, team: str) -> dict[str, Any]:
    inner: dict[str, Any] = {"type": kind}
    if kind == "tokens_revoked":
        inner["tokens"] = {"oauth": [], "bot": ["U0BOTP"]}
    return {
        "token": "xyzz0WbapA4vBCDEFasx0q6G",
        "team_id": team,
        "api_app_id": "A0LEADBOT",
        "event": inner,
        "type": "event_callback",
        "event_id": f"Ev{kind[:6]}",
        "event_time": 1700000000,
    }


async def broken(services: Any) -> list[tuple[str, str, str, str]]:
    async with services.uow() as uow:
        return await uow.partners.list_broken()


async def any_broken(services: Any) -> bool:
    return bool(await broken(services))


@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
async def test_an_uninstall_breaks_every_chat_of_that_workspace(database_url, clock, kind):
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, slack = bot
        await install(client, fake, services, "beta", team="T0PARTNER", token="xoxb-beta")
        await deliver_all(services)
        told = len(fake.posts_to("C0MANAGERS"))
        await slack.event(event(kind, "T0PARTNER"))
        await until(lambda: any_broken(services))
        assert [(w, c) for w, _p, c, _r in await broken(services)] == [
            ("beta", "C0BETA"),
            ("gamma", "C0GAMMA"),
        ]
        async with services.uow() as uow:
            assert await uow.installs.get("T0PARTNER") is None  # the token is gone too
        # again (Slack sends both events on an uninstall): no second notice
        await slack.event(event(kind, "T0PARTNER"))
        await services.submit_lead(lead("u-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        notices = fake.posts_to("C0MANAGERS")[told:]
        assert len(notices) == 1
        text = blocks_text(notices[0])
        assert "workspace T0PARTNER is unreachable (2 chats)" in text
        assert "Beta's C0BETA" in text and "Gamma's C0GAMMA" in text
        assert len(fake.posts_to("C0ACME")) == 1  # the lead went to ACME at once
        assert not fake.posts_to("C0BETA") and not fake.posts_to("C0GAMMA")


async def test_a_dead_workspace_token_breaks_all_its_chats_at_once(database_url, clock):
    """token_revoked is about the workspace, not the channel: Beta's card fails, and Gamma's
    channel (same workspace) is marked too, in one notice; the lead goes straight to ACME."""
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, _slack = bot
        await install(client, fake, services, "beta", team="T0PARTNER", token="xoxb-beta")
        await deliver_all(services)
        told = len(fake.posts_to("C0MANAGERS"))
        fake.revoked.add("xoxb-beta")
        stored, _, _ = await services.submit_lead(lead("r-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        assert len(fake.posts_to("C0BETA")) == 1 and not fake.posts_to("C0GAMMA")
        assert len(fake.posts_to("C0ACME")) == 1
        (notice,) = fake.posts_to("C0MANAGERS")[told:]
        text = blocks_text(notice)
        assert "workspace T0PARTNER is unreachable (2 chats)" in text and "token_revoked" in text
        assert f"Lead {stored.public_id} was passed on" in text
        await services.submit_lead(lead("r-2"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        assert len(fake.posts_to("C0ACME")) == 2 and len(fake.posts_to("C0MANAGERS")) == told + 1


async def test_a_partner_workspace_works_once_installed(database_url, clock):
    """Before the install there is no token for Beta's workspace: its chats are broken, once;
    the install clears that, and Beta's next card goes out with its own token."""
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, _slack = bot
        await services.submit_lead(lead("n-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        assert not fake.posts_to("C0BETA")  # no token for that workspace: nothing was sent
        (notice,) = fake.posts_to("C0MANAGERS")
        assert "not installed in workspace T0PARTNER" in blocks_text(notice)
        assert len(fake.posts_to("C0ACME")) == 1
        assert len(await broken(services)) == 2

        await install(client, fake, services, "beta", team="T0PARTNER", token="xoxb-beta")
        assert await broken(services) == []
        await services.submit_lead(lead("n-2"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        assert fake.tokens_used("chat.postMessage", "C0BETA") == ["xoxb-beta"]


async def test_a_card_showing_when_the_workspace_goes_moves_on_at_once(database_url, clock):
    """Beta's card is on screen in the partner workspace when the app is uninstalled there:
    nobody can reach it any more, so the offer is undeliverable at once (not at the end of its
    window) and the lead goes to the next partner, named in the one notice."""
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, slack = bot
        await install(client, fake, services, "beta", team="T0PARTNER", token="xoxb-beta")
        stored, _, (offer_id,) = await services.submit_lead(lead("w-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        assert len(fake.posts_to("C0BETA")) == 1 and not fake.posts_to("C0ACME")
        told = len(fake.posts_to("C0MANAGERS"))
        await slack.event(event("app_uninstalled", "T0PARTNER"))
        await until(lambda: any_broken(services))
        await deliver_all(services)
        async with services.uow() as uow:
            assert (await uow.offers.get(offer_id)).status == "undeliverable"
            assert (await uow.leads.get(stored.id)).status == "offered"  # offered to ACME now
        assert len(fake.posts_to("C0ACME")) == 1
        (notice,) = fake.posts_to("C0MANAGERS")[told:]
        assert f"Lead {stored.public_id} was passed on" in blocks_text(notice)


async def test_one_install_link_opened_in_two_tabs_installs_once(database_url, clock):
    """Both tabs got an OAuth state from the same invite: the first install wins; the second
    is refused and stores nothing (its state died with the invite; were two redirects to race,
    marking the invite used is a compare-and-set, so only one could store)."""
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, _slack = bot
        invite = await services.run(invite_install, partner_slug="acme")
        states = []
        for _tab in range(2):
            page = await client.get("/slack/install", params={"invite": invite})
            states.append(re.search(r"state=([\w-]+)", html.unescape(page.text)).group(1))
        fake.installs["code-1"] = Install("T0ONE", "One", "xoxb-one")
        fake.installs["code-2"] = Install("T0TWO", "Two", "xoxb-two")
        answers = []
        for n, state in enumerate(states, start=1):
            answers.append(
                await client.get(
                    "/slack/oauth_redirect",
                    params={"code": f"code-{n}", "state": state},
                    headers={"Cookie": f"slack-app-oauth-state={state}"},
                )
            )
        assert answers[0].is_success and answers[1].status_code in (400, 401)
        async with services.uow() as uow:
            assert await uow.installs.get("T0ONE") is not None
            assert await uow.installs.get("T0TWO") is None
        assert "xoxb-one" not in fake.revoked


async def test_an_install_while_our_own_workspace_is_unknown_takes_nothing(
    database_url, clock, monkeypatch
):
    """auth.test has not answered yet, so Leadbot cannot tell its own workspace from a
    partner's: the install is refused for now, nothing is stored and no token is revoked (it
    might be our own bot token)."""
    async with running(database_url, clock, document=installing_doc(), **OAUTH) as bot:
        fake, services, client, _slack = bot

        async def unknown() -> None:
            return None

        monkeypatch.setattr(services.messengers["slack"].workspaces, "home", unknown)
        refused = await install(client, fake, services, "beta", team="T1DC2JH3J", token="xoxb-test")
        assert refused.status_code == 400 and "in a few minutes" in refused.text
        assert not fake.revoked
        async with services.uow() as uow:
            assert await uow.installs.get("T1DC2JH3J") is None
