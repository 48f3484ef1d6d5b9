"""The App Home tab over loopback: `app_home_opened` (a signed event) publishes a partner's, a
manager's or a stranger's page with `views.publish`; stage buttons pressed on the tab work."""

from __future__ import annotations

import copy
import json
from typing import Any

from bot.dispatch import accept_offer, decline_offer
from bot.domain.leads import Stage
from bot.sandbox.slack import HOME, FakeSlack, blocks_text, buttons
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, actor_for, lead
from tests.handlers.test_slack import _true, modal_body, payload, running, until


def opened(user: str, tab: str = "home") -> dict[str, Any]:
    return {
        "token": "xyzz0WbapA4vBCDEFasx0q6G",
        "team_id": HOME,
        "api_app_id": "A0LEADBOT",
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": f"D{user}",
            "tab": tab,
            "event_ts": "1700000100.000100",
        },
        "type": "event_callback",
        "event_id": f"Ev{user}",
        "event_time": 1700000100,
        "authorizations": [{"team_id": HOME, "user_id": "U0BOT", "is_bot": True}],
    }


def home_press(user: str, value: str) -> dict[str, Any]:
    """A button pressed on the Home tab: no channel, no message, no response_url."""
    body = copy.deepcopy(payload("block_actions.json"))
    for key in ("channel", "message", "response_url"):
        body.pop(key)
    body["user"] = {"id": user, "username": user.lower(), "name": user, "team_id": HOME}
    body["container"] = {"type": "view", "view_id": "V0HOME"}
    body["view"] = {"id": "V0HOME", "type": "home", "team_id": HOME, "blocks": []}
    body["actions"][0].update(action_id="leadbot:0", block_id="b1", value=value)
    return body


def published(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [a["view"] for a in fake.called("views.publish") if a["user_id"] == user]


def home_buttons(view: dict[str, Any]) -> list[dict[str, str]]:
    """The buttons of each entry on the tab, in order."""
    return [
        {e["text"]["text"]: e["value"] for e in b["elements"]}
        for b in view["blocks"]
        if b["type"] == "actions"
    ]


async def test_a_partner_rep_works_from_the_home_tab(database_url, clock):
    async with running(database_url, clock) as (fake, services, _client, slack):
        bob, carla = await actor_for(services, "U0BOB"), await actor_for(services, "U0CARLA")
        # two leads declined by ACME reach Beta: Carla takes the first, the second waits
        for n in (1, 2):
            stored, _, (offer_id,) = await services.submit_lead(
                lead(f"h-{n}"), actor=SYSTEM, source=SRC
            )
            await services.run(
                decline_offer, offer_id=offer_id, actor=bob, reason="no_capacity", source=SRC
            )
            if n == 1:
                taken = stored
        await deliver_all(services)
        beta_offers = [int(buttons(c)["Accept"].split(":")[1]) for c in fake.posts_to("C0BETA")]
        await services.run(accept_offer, offer_id=beta_offers[0], actor=carla, source=SRC)
        await deliver_all(services)

        await slack.event(opened("U0CARLA"))
        await until(lambda: _true(published(fake, "U0CARLA")))
        (view,) = published(fake, "U0CARLA")
        text = json.dumps(view, ensure_ascii=False)
        assert view["type"] == "home" and "Leadbot for Beta" in text
        assert "Open offers (1)" in text and "Waiting for your update (1)" in text
        assert "Max Kunde" in text and "This month" in text and "<!date^" in text
        offer_buttons, stage_buttons = home_buttons(view)
        assert offer_buttons["Accept"] == f"o:{beta_offers[1]}:a"
        assert list(stage_buttons) == ["Contacted", "Qualified", "Opportunity", "Won", "Lost"]

        # Contacted, pressed on the tab: the lead moves, the tab is drawn again with the answer,
        # and the card in Beta's channel is edited
        await slack.interact(home_press("U0CARLA", stage_buttons["Contacted"]))
        await until(lambda: _true(len(published(fake, "U0CARLA")) == 2))
        again = json.dumps(published(fake, "U0CARLA")[-1], ensure_ascii=False)
        assert ":white_check_mark:" in again and "· contacted" in again
        await deliver_all(services)
        edits = [a for a in fake.called("chat.update") if a["channel"] == "C0BETA"]
        assert "Stage: *contacted*" in blocks_text(edits[-1])

        # Opportunity asks for the value in a modal, then the tab is drawn again
        await slack.interact(home_press("U0CARLA", stage_buttons["Opportunity"]))
        await until(lambda: _true(fake.called("views.open")))
        assert json.loads(fake.called("views.open")[-1]["view"]["private_metadata"])["h"] == 1
        assert await slack.interact(modal_body(fake, "U0CARLA", "9000")) == {}
        await until(lambda: _true(len(published(fake, "U0CARLA")) == 3))
        async with services.uow() as uow:
            moved = await uow.leads.get(taken.id)
        assert moved.stage is Stage.OPPORTUNITY and moved.stage_value == 9000


async def test_a_stranger_pressing_on_the_tab_changes_nothing(database_url, clock):
    async with running(database_url, clock) as (fake, services, _client, slack):
        stored, _, (offer_id,) = await services.submit_lead(lead("h-3"), actor=SYSTEM, source=SRC)
        await slack.interact(home_press("U0EVE", f"o:{offer_id}:a"))
        await until(lambda: _true(published(fake, "U0EVE")))
        text = json.dumps(published(fake, "U0EVE")[0], ensure_ascii=False)
        assert ":warning:" in text and "not linked" in text and "/lead link CODE" in text
        async with services.uow() as uow:
            assert (await uow.offers.get(offer_id)).status == "pending"


async def test_managers_see_the_overview_and_strangers_how_to_link(database_url, clock):
    async with running(database_url, clock) as (fake, services, _client, slack):
        stored, _, _ = await services.submit_lead(lead("h-4"), actor=SYSTEM, source=SRC)
        await slack.event(opened("U0ADA"))
        await slack.event(opened("U0EVE"))
        await until(lambda: _true(published(fake, "U0ADA") and published(fake, "U0EVE")))
        manager = json.dumps(published(fake, "U0ADA")[0], ensure_ascii=False)
        assert (
            "managers' overview" in manager
            and f"Lead {stored.public_id}: offered to acme" in manager
        )
        assert "Partners" in manager and "acme" in manager and "beta" in manager
        assert "1 leads, 0 unassigned" in manager
        stranger = json.dumps(published(fake, "U0EVE")[0], ensure_ascii=False)
        assert "not linked" in stranger and "/lead link CODE" in stranger
        assert "Open offers" not in stranger and stored.public_id not in stranger
