"""Telegram over long polling, on loopback: the fake Bot API serves updates through getUpdates
(offsets, long polls) and records what the bot sends; the bot runs its real polling loop and
PTB handlers, as `leadbot serve` starts them when TELEGRAM_WEBHOOK_URL is unset."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.bootstrap import build
from bot.domain.leads import Stage
from bot.handlers.telegram import TelegramPolling
from bot.handlers.telegram.polling import Backoff
from bot.sandbox.telegram import FakeTelegram, keyboard
from bot.server import chat_status
from tests.conftest import unpaced
from tests.factories import SRC, SYSTEM, apply, lead
from tests.handlers.tg_payloads import ACME, ADA, BETA, BOB, CARLA, MANAGERS, press, text
from tests.handlers.tg_polling import Bot, document, latest, settings_for, start_instance

CONFLICT = (
    "another instance is polling this bot token; run several instances in webhook mode "
    "(TELEGRAM_WEBHOOK_URL)"
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(fake, database_url, clock) -> AsyncIterator[Bot]:
    instance = await start_instance(fake, database_url, clock)
    await apply(instance.services, document())
    yield instance
    await instance.services.close()


async def test_the_whole_conversation_over_polling(bot):
    fake, services = bot.fake, bot.services
    assert fake.called("deleteWebhook") and fake.called("getUpdates")
    first = [m for m, _ in fake.calls if m in ("deleteWebhook", "getUpdates")][0]
    assert first == "deleteWebhook"  # no webhook may take the updates away from polling
    await bot.send(text(BOB, "Bob", BOB, "/start"))  # Bob opens a private chat with the bot

    stored, _, _ = await services.submit_lead(lead("p-1"), actor=SYSTEM, source=SRC)
    await bot.deliver()
    (group_card,) = fake.sent_to(ACME)
    (dm_card,) = [a for a in fake.sent_to(BOB) if "New lead" in a["text"]]
    assert keyboard(dm_card) == keyboard(group_card)  # the same working buttons
    assert fake.sent_to(CARLA) == []  # Carla never started the bot: no DM for her

    # Bob declines from his phone, in the DM: reasons on that message, then every copy closes
    dm_id = int(dm_card["message_id"])
    await bot.send(press(BOB, "Bob", keyboard(dm_card)["Decline"], BOB, dm_id))
    reasons = keyboard(fake.called("editMessageReplyMarkup")[-1])
    await bot.send(press(BOB, "Bob", reasons["no capacity"], BOB, dm_id))
    await bot.deliver()
    for chat, message_id in ((ACME, int(group_card["message_id"])), (BOB, dm_id)):
        closed = latest(fake, chat, message_id)
        assert "Declined by Bob (no_capacity)" in closed["text"]
        assert "Area" not in closed["text"] and keyboard(closed) == {}

    # the card goes to Beta; Carla accepts and sees the contact and the stage buttons
    (beta_card,) = fake.sent_to(BETA)
    beta_id = int(beta_card["message_id"])
    await bot.send(press(CARLA, "Carla", keyboard(beta_card)["Accept"], BETA, beta_id))
    await bot.deliver()
    mine = latest(fake, BETA, beta_id)
    assert "Max Kunde" in mine["text"] and "Opportunity" in keyboard(mine)

    # Opportunity and Won ask for an amount by reply (ForceReply), addressed to Carla
    for stage, amount in (("Opportunity", "18000"), ("Won", "21 500")):
        await bot.send(
            press(CARLA, "Carla", keyboard(latest(fake, BETA, beta_id))[stage], BETA, beta_id)
        )
        prompt = fake.sent_to(BETA)[-1]
        assert prompt["reply_markup"]["force_reply"] is True
        assert f"tg://user?id={CARLA}" in prompt["text"] and "amount" in prompt["text"]
        await bot.send(text(CARLA, "Carla", BETA, amount, reply_to=int(prompt["message_id"])))
        await bot.deliver()
    async with services.uow() as uow:
        won = await uow.leads.get(stored.id)
    assert won.stage is Stage.WON and won.stage_value == 21500

    # the managers ask for the funnel in their group: the numbers and a chart
    await bot.send(text(ADA, "Ada", MANAGERS, "/funnel all 30d"))
    answer = fake.sent_to(MANAGERS)[-1]["text"]
    assert "Funnel: all partners" in answer and "acme" in answer and "beta" in answer
    (photo,) = fake.called("sendPhoto")
    assert str(photo["chat_id"]) == str(MANAGERS)


async def test_another_poller_is_told_once_and_polling_carries_on(
    fake, database_url, clock, caplog
):
    caplog.set_level(logging.DEBUG, logger="bot.handlers.telegram.polling")
    fake.conflicts = 4  # another instance holds the token for the next four polls
    services = unpaced(build(settings_for(fake, database_url), clock=clock))
    polling = TelegramPolling(services, long_poll=1, conflict=Backoff(0.01, 0.02))
    try:
        await apply(services, document())
        await polling.start()
        update_id = await fake.push(text(ADA, "Ada", MANAGERS, "/help"))
        async with asyncio.timeout(10):
            await fake.handled(update_id)
        assert polling.conflicts == 4
        told = [r for r in caplog.records if CONFLICT in r.getMessage()]
        assert len(told) == 1 and told[0].levelno == logging.ERROR
        assert "What you can run" in fake.sent_to(MANAGERS)[-1]["text"]  # it carried on
        assert await polling.state() == ("polling", True)  # it has the token now
    finally:
        await polling.close()
        await services.close()


def test_the_start_up_line_says_polling_takes_one_instance(fake):
    pg = "postgresql+asyncpg://leadbot@127.0.0.1/leadbot"
    line = chat_status(settings_for(fake, pg))[1]
    assert "long polling" in line and "one instance" in line and "TELEGRAM_WEBHOOK_URL" in line


async def test_a_question_asked_before_a_restart_is_answered_after_it(fake, database_url, clock):
    first = await start_instance(fake, database_url, clock)
    await apply(first.services, document())
    stored, _, (offer_id,) = await first.services.submit_lead(lead("p-2"), actor=SYSTEM, source=SRC)
    await first.deliver()
    (card,) = fake.sent_to(ACME)
    card_id = int(card["message_id"])
    await first.send(press(BOB, "Bob", f"o:{offer_id}:a", ACME, card_id))
    await first.deliver()
    await first.send(press(BOB, "Bob", keyboard(latest(fake, ACME, card_id))["Won"], ACME, card_id))
    prompt_id = int(fake.sent_to(ACME)[-1]["message_id"])
    await first.services.close()  # the process ends with the question open

    second = await start_instance(fake, database_url, clock)  # a new instance, same database
    try:
        await second.send(text(BOB, "Bob", ACME, "lots", reply_to=prompt_id))
        assert fake.sent_to(ACME)[-1]["text"] == "'lots' is not an amount."
        await second.send(text(BOB, "Bob", ACME, "9,900", reply_to=prompt_id))
        async with second.services.uow() as uow:
            won = await uow.leads.get(stored.id)
        assert won.stage is Stage.WON and won.stage_value == 9900
    finally:
        await second.services.close()


async def test_an_expired_question_gets_a_clear_answer_and_changes_nothing(bot, clock):
    fake, services = bot.fake, bot.services
    stored, _, (offer_id,) = await services.submit_lead(lead("p-3"), actor=SYSTEM, source=SRC)
    await bot.deliver()
    card_id = int(fake.sent_to(ACME)[0]["message_id"])
    await bot.send(press(BOB, "Bob", f"o:{offer_id}:a", ACME, card_id))
    await bot.deliver()
    stages = keyboard(latest(fake, ACME, card_id))
    await bot.send(press(BOB, "Bob", stages["Opportunity"], ACME, card_id))
    prompt_id = int(fake.sent_to(ACME)[-1]["message_id"])
    clock.advance(timedelta(hours=1, minutes=1))
    await bot.send(text(BOB, "Bob", ACME, "5000", reply_to=prompt_id))
    assert "That question has expired" in fake.sent_to(ACME)[-1]["text"]
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).stage is Stage.ACCEPTED
    # someone else replying to a question is not answered at all
    before = len(fake.sent_to(ACME))
    await bot.send(text(CARLA, "Carla", ACME, "5000", reply_to=prompt_id))
    assert len(fake.sent_to(ACME)) == before


async def test_a_slow_chat_holds_up_no_other_and_a_failing_update_stops_nothing(
    fake, database_url, clock, caplog, monkeypatch
):
    """Updates of one batch: ACME's group waits on something slow, the managers' /help is
    answered meanwhile; an update whose handling blows up is logged and polling carries on."""
    services = unpaced(build(settings_for(fake, database_url), clock=clock))
    polling = TelegramPolling(services, long_poll=1)
    slow, real = asyncio.Event(), polling.process

    async def process(update):
        chat = update.effective_chat.id
        if chat == ACME:
            await slow.wait()  # a long /funnel, say
        if chat == BETA:
            raise RuntimeError("a bug in some handler")
        await real(update)

    monkeypatch.setattr(polling, "process", process)
    try:
        await apply(services, document())
        await fake.push(text(BOB, "Bob", ACME, "/help"))
        await fake.push(text(CARLA, "Carla", BETA, "/help"))
        await fake.push(text(ADA, "Ada", MANAGERS, "/help"))
        await polling.start()
        async with asyncio.timeout(10):
            while not fake.sent_to(MANAGERS):  # noqa: ASYNC110 -- the fake records as it goes
                await asyncio.sleep(0.01)
        assert not fake.sent_to(ACME)  # still busy, and nobody waited for it
        slow.set()
        async with asyncio.timeout(10):
            while not fake.sent_to(ACME):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert any("could not be handled" in r.getMessage() for r in caplog.records)
        assert await polling.state() == ("polling", True)  # carried on
    finally:
        await polling.close()
        await services.close()


async def test_healthz_says_polling_is_down_while_another_instance_holds_the_token(
    fake, database_url, clock
):
    fake.conflicts = 10_000  # the other instance keeps polling
    services = unpaced(build(settings_for(fake, database_url), clock=clock))
    polling = TelegramPolling(services, long_poll=1, conflict=Backoff(0.01, 0.02))
    try:
        await apply(services, document())
        await polling.start()
        async with asyncio.timeout(10):
            while polling.conflicts < 2:  # noqa: ASYNC110 -- the loop runs in this event loop
                await asyncio.sleep(0.01)
        said, up = await polling.state()
        assert "another instance is polling this token (409)" in said and not up
        fake.conflicts = 0  # it stopped: this instance gets the updates again
        update_id = await fake.push(text(ADA, "Ada", MANAGERS, "/help"))
        async with asyncio.timeout(10):
            await fake.handled(update_id)
        assert await polling.state() == ("polling", True)
    finally:
        await polling.close()
        await services.close()
