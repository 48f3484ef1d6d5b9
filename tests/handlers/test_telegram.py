"""Telegram over real HTTP on loopback: a fake Bot API records what the bot sends; updates are
POSTed to `/telegram/webhook` in the shapes of tests/payloads/telegram (Telegram's own)."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.bootstrap import build
from bot.config import Settings
from bot.dispatch.linking import invite_member
from bot.domain.leads import Stage
from bot.handlers.http import create_app
from bot.sandbox.telegram import FakeTelegram, keyboard
from tests.conftest import deliver_all, unpaced
from tests.e2e.serving import serve_app
from tests.factories import SRC, SYSTEM, apply, config, lead, partner
from tests.handlers.tg_payloads import ACME, BETA, MANAGERS, payload, press, text

SECRET = "s3cret-token"
updates = iter(range(30000, 40000))


@pytest.fixture
async def telegram_bot(database_url, clock):
    fake = FakeTelegram()
    await fake.start()
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        telegram_bot_token="123456:TEST",
        telegram_api_url=f"{fake.url}/bot",
        telegram_webhook_url="https://leads.example.com/telegram/webhook",
        telegram_webhook_secret=SECRET,
        _env_file=None,
    )
    services = unpaced(build(settings, clock=clock))
    port, stop = await serve_app(create_app(services))
    await apply(services, telegram_config())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield fake, services, client
    await stop()
    await services.close()
    await fake.stop()


def telegram_config(beta_role: str = "partner_rep", managers: int = MANAGERS) -> dict[str, Any]:
    """ACME (Bob, its admin) and BETA (Carla) in their groups; the managers in theirs."""
    acme = partner("acme", slack_channel=None, telegram_chat=ACME, priority=1)
    acme["members"] = [{"name": "Bob", "telegram": 2002, "role": "partner_admin"}]
    beta = partner("beta", slack_channel=None, telegram_chat=BETA, priority=2)
    beta["members"] = [{"name": "Carla", "telegram": 3003, "role": beta_role}]
    doc = config([acme, beta])
    doc["managers"] = {
        "telegram_chat": managers,
        "members": [{"name": "Ada Admin", "telegram": 1001}],
    }
    return doc


def menu(call: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A setMyCommands call as (its scope, its commands' names)."""
    scope = json.loads(str(call["scope"]))
    return scope, [c["command"] for c in json.loads(str(call["commands"]))]


async def send(client: httpx.AsyncClient, update: dict[str, Any], secret: str = SECRET) -> int:
    update["update_id"] = next(updates)
    response = await client.post(
        "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )
    return response.status_code


def alerts(fake: FakeTelegram) -> list[str]:
    return [str(a.get("text")) for a in fake.called("answerCallbackQuery") if a.get("show_alert")]


async def test_the_whole_conversation_in_telegram(telegram_bot):
    fake, services, client = telegram_bot
    stored, _, _ = await services.submit_lead(
        lead("t-1", need="Wärmepumpe <b>sofort</b> & mehr"), actor=SYSTEM, source=SRC
    )
    await deliver_all(services)
    (card,) = fake.sent_to(ACME)
    assert "&lt;b&gt;sofort&lt;/b&gt; &amp; mehr" in card["text"]
    acme_id = 500
    buttons = keyboard(card)

    # Bob declines: the reasons replace the buttons on the same message; his choice declines
    assert await send(client, press(2002, "Bob", buttons["Decline"], ACME, acme_id)) == 200
    reasons = keyboard(fake.called("editMessageReplyMarkup")[-1])
    assert "not my area" in reasons
    assert await send(client, press(2002, "Bob", reasons["not my area"], ACME, acme_id)) == 200
    await deliver_all(services)
    assert "Declined by Bob (not_my_area)" in fake.latest_text(ACME, acme_id)
    (beta_card,) = fake.sent_to(BETA)
    beta_id = 501

    # a stranger and Bob cannot take Beta's card: an alert each, nothing changes
    accept = keyboard(beta_card)["Accept"]
    await send(client, press(9999, "Eve", accept, BETA, beta_id))
    await send(client, press(2002, "Bob", accept, BETA, beta_id))
    assert "not linked" in alerts(fake)[0] and "Not for you" in alerts(fake)[1]

    # Carla accepts: the contact and the stage buttons
    await send(client, press(3003, "Carla", accept, BETA, beta_id))
    await deliver_all(services)
    mine = [a for a in fake.called("editMessageText") if int(a["message_id"]) == beta_id][-1]
    assert "Max Kunde" in mine["text"] and "Opportunity" in keyboard(mine)

    # Opportunity and Won ask for an amount by reply; a bad one is refused, then fixed
    # (written as in Germany: a dot groups thousands, a comma starts the cents)
    for stage, answers in (("Opportunity", ["18.000"]), ("Won", ["lots", "20.000,50"])):
        stages = keyboard(
            [a for a in fake.called("editMessageText") if int(a["message_id"]) == beta_id][-1]
        )
        await send(client, press(3003, "Carla", stages[stage], BETA, beta_id))
        prompt = fake.sent_to(BETA)[-1]
        assert prompt["reply_markup"]["force_reply"] is True
        prompt_id = 500 + len(fake.called("sendMessage")) - 1
        for answer in answers:
            await send(client, text(3003, "Carla", BETA, answer, reply_to=prompt_id))
        await deliver_all(services)
    replies = [a["text"] for a in fake.sent_to(BETA)]
    assert "'lots' is not an amount." in replies
    async with services.uow() as uow:
        final = await uow.leads.get(stored.id)
    assert final.stage is Stage.WON and final.stage_value == 20000.5


async def test_a_wrong_secret_gets_403_and_changes_nothing(telegram_bot):
    fake, services, client = telegram_bot
    _, _, (offer_id,) = await services.submit_lead(lead("t-2"), actor=SYSTEM, source=SRC)
    update = press(2002, "Bob", f"o:{offer_id}:a", ACME, 500)
    assert await send(client, update, secret="guess") == 403
    assert (await client.post("/telegram/webhook", json=update)).status_code == 403
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status == "pending"
    assert fake.called("answerCallbackQuery") == []


async def test_funnel_in_the_managers_group_and_linking_by_deep_link(telegram_bot):
    fake, services, client = telegram_bot
    await services.submit_lead(lead("t-3"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    assert await send(client, text(1001, "Ada", MANAGERS, "/funnel all 30d")) == 200
    answer = fake.sent_to(MANAGERS)[-1]
    assert "Funnel: all partners" in answer["text"] and "<pre>" in answer["text"]
    assert len(fake.called("sendPhoto")) == 1
    code = await services.run(invite_member, name="Bob", partner_slug="acme")
    start = copy.deepcopy(payload("start_deeplink.json"))
    start["message"]["from"]["id"] = start["message"]["chat"]["id"] = 4004
    start["message"]["text"] = f"/start {code}"
    await send(client, start)
    assert "you are Bob" in fake.sent_to(4004)[-1]["text"]


async def test_a_partner_is_answered_in_its_own_group_not_in_another_partners(telegram_bot):
    """A group reply is public: Bob (ACME) asking in Beta's group is told where to ask, and
    Beta's group sees none of ACME's numbers."""
    fake, services, client = telegram_bot
    await services.submit_lead(lead("t-g"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    before = len(fake.sent_to(BETA))
    for command in ("/funnel", "/open", "/pause"):
        assert await send(client, text(2002, "Bob", BETA, command)) == 200
    answers = [m["text"] for m in fake.sent_to(BETA)[before:]]
    assert answers == ["Ask me in your own group or in a private chat."] * 3
    assert fake.called("sendPhoto") == []
    assert await send(client, text(2002, "Bob", ACME, "/funnel")) == 200
    assert "Funnel: Acme" in fake.sent_to(ACME)[-1]["text"]


async def test_a_link_in_a_leads_text_shows_no_preview(telegram_bot):
    """Whoever fills the web form chooses the link: Telegram must not draw its page under
    the card (or under the managers' notices)."""
    fake, services, _client = telegram_bot
    await services.submit_lead(
        lead("t-l", need="see https://evil.example/free-gift"), actor=SYSTEM, source=SRC
    )
    await deliver_all(services)
    (card,) = fake.sent_to(ACME)
    assert "https://evil.example/free-gift" in card["text"]
    assert json.loads(str(card["link_preview_options"])) == {"is_disabled": True}


async def test_a_blocked_bot_moves_the_lead_on(telegram_bot):
    fake, services, _client = telegram_bot
    fake.fail[str(ACME)] = payload("send_error_blocked.json")
    _, _, (offer_id,) = await services.submit_lead(lead("t-4"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status == "undeliverable"
    assert len(fake.sent_to(BETA)) == 1
    told = fake.sent_to(MANAGERS)[-1]["text"]
    assert "telegram chat -1001000000002 is unreachable" in told
    assert "Telegram said: Forbidden: bot was blocked" in told


async def test_flood_control_is_honoured_and_nothing_is_sent_twice(telegram_bot, clock):
    from datetime import timedelta

    fake, services, _client = telegram_bot
    fake.fail[str(ACME)] = payload("send_error_flood.json")  # "retry after 3"
    _, _, (offer_id,) = await services.submit_lead(lead("t-5"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    assert len(fake.sent_to(ACME)) == 1  # one try, refused
    del fake.fail[str(ACME)]
    clock.advance(timedelta(seconds=2))
    await deliver_all(services)
    assert len(fake.sent_to(ACME)) == 1  # not before the 3 s are up
    clock.advance(timedelta(seconds=2))
    await deliver_all(services)
    await deliver_all(services)
    assert len(fake.sent_to(ACME)) == 2  # sent once more, and only once
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).delivered_at is not None


async def test_a_manager_asking_in_a_partners_group_is_sent_elsewhere(telegram_bot):
    fake, _services, client = telegram_bot
    await send(client, text(1001, "Ada", ACME, "/partners"))
    assert "private chat or in the managers' group" in fake.sent_to(ACME)[-1]["text"]
    await send(client, text(1001, "Ada", MANAGERS, "/partners"))
    assert "Partners" in fake.sent_to(MANAGERS)[-1]["text"]


def test_long_reports_are_cut_at_whole_rows_and_stay_valid_html():
    from bot.handlers.telegram.render import LIMIT, report_text, visible_length
    from bot.messaging import Report

    report = Report(title="Open", header=["lead", "what"], rows=[["L1", "a & b <c>" * 5]] * 400)
    html = report_text(report)
    assert html.endswith("</pre>") and html.count("&amp;") % 5 == 0
    # counted as Telegram counts (what shows), and cut no further than that needs
    row = len("L1    " + "a & b <c>" * 5) + 1
    assert visible_length(html) <= LIMIT < visible_length(html) + row


async def test_back_puts_the_cards_own_buttons_back(telegram_bot):
    fake, services, client = telegram_bot
    await services.submit_lead(lead("t-6"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    (card,) = fake.sent_to(ACME)
    await send(client, press(2002, "Bob", keyboard(card)["Decline"], ACME, 500))
    reasons = keyboard(fake.called("editMessageReplyMarkup")[-1])
    await send(client, press(2002, "Bob", reasons["« Back"], ACME, 500))
    await deliver_all(services)
    restored = [a for a in fake.called("editMessageText") if int(a["message_id"]) == 500][-1]
    assert set(keyboard(restored)) == {"Accept", "Decline"}


async def test_start_sets_the_webhook_with_its_secret_and_the_command_lists(telegram_bot):
    fake, services, _client = telegram_bot
    for start in services.starters:
        await start()
    (hook,) = fake.called("setWebhook")
    assert hook["url"] == "https://leads.example.com/telegram/webhook"
    assert hook["secret_token"] == SECRET
    everyone, private, bob, managers = fake.called("setMyCommands")
    assert "scope" not in everyone or json.loads(str(everyone["scope"]))["type"] == "default"
    assert json.loads(str(private["scope"])) == {"type": "all_private_chats"}
    dm = [c["command"] for c in json.loads(str(private["commands"]))]
    assert dm == ["help", "funnel", "open", "dm"]
    # Bob, ACME's admin, also sees availability in ACME's group (Carla, a rep, does not)
    assert menu(bob) == (
        {"type": "chat_member", "chat_id": ACME, "user_id": 2002},
        ["help", "funnel", "open", "pause", "resume", "capacity"],
    )
    assert json.loads(str(managers["scope"])) == {"type": "chat", "chat_id": MANAGERS}
    assert len(json.loads(str(managers["commands"]))) > len(json.loads(str(everyone["commands"])))


async def test_an_admin_who_links_gets_their_menu_at_once_and_a_rep_gets_none(telegram_bot):
    """The admin menu needs no restart: linking sets it in each of the partner's groups, for
    that account only; a rep linking sets no menu (the everyone menu already applies)."""
    fake, services, client = telegram_bot
    rep_code = await services.run(invite_member, name="Carla", partner_slug="beta")
    await send(client, text(5005, "Carla", 5005, f"/start {rep_code}"))
    assert "you are Carla" in fake.sent_to(5005)[-1]["text"]
    assert fake.called("setMyCommands") == []
    admin_code = await services.run(invite_member, name="Bob", partner_slug="acme")
    await send(client, text(4004, "Bob", 4004, f"/start {admin_code}"))
    assert "you are Bob" in fake.sent_to(4004)[-1]["text"]
    (bobs,) = fake.called("setMyCommands")  # 2002, Bob's other account, already had it
    assert menu(bobs) == (
        {"type": "chat_member", "chat_id": ACME, "user_id": 4004},
        ["help", "funnel", "open", "pause", "resume", "capacity"],
    )


async def menus_set_again(services: Any) -> asyncio.Task[None]:
    """The receiver sets menus again in the background after a sweep: wait (bounded) for it."""
    task = services.ctx.hooks.applied.__self__._menus
    assert task is not None, "no sweep started setting the menus again"
    await asyncio.wait_for(asyncio.shield(task), timeout=10)
    return task


async def test_a_configuration_applied_while_running_sets_the_new_menus_at_the_next_sweep(
    telegram_bot,
):
    """No restart for a leadbot.yaml applied to a running Leadbot: the sweep that sees it
    sets the menus again, a new admin's and a new managers' group's among them."""
    fake, services, _client = telegram_bot
    for start in services.starters:
        await start()
    at_start = len(fake.called("setMyCommands"))
    await services.scheduler.sweep()  # nothing new applied: nothing set again
    assert len(fake.called("setMyCommands")) == at_start
    # Carla, a rep, becomes BETA's admin; the managers move to a new group
    await apply(services, telegram_config(beta_role="partner_admin", managers=-100777))
    await services.scheduler.sweep()
    await menus_set_again(services)
    menus = fake.called("setMyCommands")[at_start:]
    scopes = [json.loads(str(m["scope"])) for m in menus if "scope" in m]
    assert {"type": "chat_member", "chat_id": BETA, "user_id": 3003} in scopes
    assert {"type": "chat", "chat_id": -100777} in scopes
    again = len(fake.called("setMyCommands"))
    await services.scheduler.sweep()  # set once per configuration
    assert len(fake.called("setMyCommands")) == again


async def test_menus_refused_after_a_new_configuration_are_one_warning_not_a_retry_loop(
    telegram_bot, monkeypatch, caplog
):
    from telegram.error import BadRequest

    from bot.handlers.telegram import updates as telegram_updates

    fake, services, _client = telegram_bot
    for start in services.starters:
        await start()
    tries = []

    async def refused(*args: object) -> None:
        tries.append(args)
        raise BadRequest("Chat not found")

    monkeypatch.setattr(telegram_updates, "set_menus", refused)
    await apply(services, telegram_config(beta_role="partner_admin"))
    await services.scheduler.sweep()
    tried = await menus_set_again(services)
    assert "command menus could not be set again (Chat not found)" in caplog.text
    await services.scheduler.sweep()
    assert await menus_set_again(services) is tried  # no second try was started
    assert len(tries) == 1


async def test_a_menu_telegram_refuses_leaves_the_link_standing(telegram_bot, monkeypatch, caplog):
    from telegram.error import BadRequest

    from bot.handlers.telegram import listeners

    async def refused(*args: object, **kwargs: object) -> int:
        raise BadRequest("Chat not found")

    monkeypatch.setattr(listeners, "set_admin_menus", refused)
    fake, services, client = telegram_bot
    code = await services.run(invite_member, name="Bob", partner_slug="acme")
    await send(client, text(4004, "Bob", 4004, f"/start {code}"))
    assert "you are Bob" in fake.sent_to(4004)[-1]["text"]
    assert "setting Bob's command menu failed" in caplog.text
    async with services.uow() as uow:  # the link stands
        owner = await uow.members.identity_owner(platform="telegram", team="", external_id="4004")
    assert owner is not None


async def test_a_press_whose_work_overruns_is_told_to_wait_and_still_counts(
    telegram_bot, monkeypatch
):
    """Past WORK_LIMIT the presser hears "still working" at once; the work is not cut off in
    the middle of its transaction: it finishes, and the Accept stands."""
    from bot.handlers.telegram import listeners

    fake, services, client = telegram_bot
    _, _, (offer_id,) = await services.submit_lead(lead("t-7"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    monkeypatch.setattr(listeners, "WORK_LIMIT", 0)  # the press's work never fits
    assert await send(client, press(2002, "Bob", f"o:{offer_id}:a", ACME, 500)) == 200
    (answer,) = fake.called("answerCallbackQuery")
    assert "Still working" in str(answer.get("text")) and not answer.get("show_alert")
    async with asyncio.timeout(10):
        while True:  # the work goes on after the answer: wait (bounded) for it to land
            async with services.uow() as uow:
                if (await uow.offers.get(offer_id)).status == "accepted":
                    break
            await asyncio.sleep(0.01)


async def test_a_late_decline_is_told_what_happened_and_shows_no_reasons(telegram_bot, clock):
    """Decline on a card whose offer expired meanwhile: an alert says so at once; the reasons
    keyboard never appears and nothing changes."""
    fake, services, client = telegram_bot
    stored, _, (offer_id,) = await services.submit_lead(lead("t-late"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    (card,) = fake.sent_to(ACME)
    clock.advance(timedelta(minutes=31))
    await services.scheduler.sweep()
    async with services.uow() as uow:
        before = [o.status for o in await uow.offers.list_for_lead(stored.id)]
    await send(client, press(2002, "Bob", keyboard(card)["Decline"], ACME, 500))
    assert alerts(fake) == ["This offer expired and was passed on."]
    assert fake.called("editMessageReplyMarkup") == []
    async with services.uow() as uow:
        assert [o.status for o in await uow.offers.list_for_lead(stored.id)] == before
