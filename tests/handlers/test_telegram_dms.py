"""Telegram DMs to reps and the bot's own membership (`my_chat_member`), over long polling on
loopback: a rep who started the bot gets a copy of each offer; the toggle; a rep who blocked the
bot; the bot removed from a partner's group, and added back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import unescape

import pytest

from bot.dispatch.linking import invite_member
from bot.domain.offers import OfferStatus
from bot.sandbox.telegram import FakeTelegram, keyboard
from tests.factories import SRC, SYSTEM, apply, lead
from tests.handlers.tg_payloads import (
    ACME,
    BETA,
    BOB,
    MANAGERS,
    bot_membership,
    payload,
    press,
    text,
)
from tests.handlers.tg_polling import Bot, document, latest, start_instance

DORA = 4004


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


def offers_to(fake: FakeTelegram, chat: int) -> list[dict]:
    """Offer cards delivered to a chat (not answers to commands, not refused sends)."""
    cards = [a for a in fake.sent_to(chat) if a["text"].startswith("<b>New lead")]
    return [a for a in cards if "message_id" in a]


def tries_to(fake: FakeTelegram, chat: int) -> int:
    """sendMessage calls to a chat, failed ones included."""
    return sum(1 for a in fake.called("sendMessage") if str(a["chat_id"]) == str(chat))


async def new_lead(bot: Bot, key: str) -> int:
    _, _, (offer_id,) = await bot.services.submit_lead(lead(key), actor=SYSTEM, source=SRC)
    await bot.deliver()
    return offer_id


async def offer_status(bot: Bot, offer_id: int) -> OfferStatus:
    async with bot.services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer is not None
    return offer.status


async def test_a_rep_switches_the_dms_off_and_on_from_a_private_chat(bot):
    fake = bot.fake
    await new_lead(bot, "d-0")
    assert offers_to(fake, BOB) == []  # a Telegram id in leadbot.yaml is no started bot
    await bot.send(text(BOB, "Bob", BOB, "hello"))  # any private message shows he started it
    await new_lead(bot, "d-1")
    assert len(offers_to(fake, BOB)) == 1

    await bot.send(text(BOB, "Bob", ACME, "/dm off"))  # not in the group: nothing changes
    assert "private chat" in fake.sent_to(ACME)[-1]["text"]
    await apply(bot.services, document())  # nor does a config apply
    await new_lead(bot, "d-2")
    assert len(offers_to(fake, BOB)) == 2

    await bot.send(text(BOB, "Bob", BOB, "/dm off"))
    assert "off (your choice)" in fake.sent_to(BOB)[-1]["text"]
    await apply(bot.services, document())  # his own choice outlives a config apply
    await new_lead(bot, "d-3")
    assert len(offers_to(fake, BOB)) == 2 and len(offers_to(fake, ACME)) == 4

    await bot.send(text(BOB, "Bob", BOB, "/dm maybe"))
    assert "Usage: dm [on|off]" in fake.sent_to(BOB)[-1]["text"]
    await bot.send(text(BOB, "Bob", BOB, "/dm on"))
    await new_lead(bot, "d-4")
    assert len(offers_to(fake, BOB)) == 3


async def test_telegram_dm_false_in_the_file_is_the_default_the_rep_may_change(bot):
    fake = bot.fake
    await apply(bot.services, document(telegram_dm=False))
    await bot.send(text(BOB, "Bob", BOB, "/dm"))
    assert "off (leadbot.yaml's setting)" in unescape(fake.sent_to(BOB)[-1]["text"])
    await new_lead(bot, "f-1")
    assert offers_to(fake, BOB) == [] and len(offers_to(fake, ACME)) == 1
    await bot.send(text(BOB, "Bob", BOB, "/dm on"))
    await new_lead(bot, "f-2")
    assert len(offers_to(fake, BOB)) == 1


async def test_a_rep_who_blocked_the_bot_loses_the_dm_and_nothing_else(bot):
    fake = bot.fake
    await bot.send(text(BOB, "Bob", BOB, "/start"))
    fake.fail[str(BOB)] = payload("send_error_blocked.json")
    before = tries_to(fake, BOB)  # the answer to /start
    first = await new_lead(bot, "b-1")
    assert tries_to(fake, BOB) == before + 1 and len(offers_to(fake, ACME)) == 1
    assert await offer_status(bot, first) is OfferStatus.PENDING  # the group copy stands
    assert fake.sent_to(MANAGERS) == []  # a rep's DM is nobody's outage
    async with bot.services.uow() as uow:
        assert await uow.partners.list_broken() == []

    await new_lead(bot, "b-2")
    assert tries_to(fake, BOB) == before + 1  # no more DMs to him
    card = offers_to(fake, ACME)[0]
    await bot.send(press(BOB, "Bob", keyboard(card)["Accept"], ACME, int(card["message_id"])))
    assert await offer_status(bot, first) is OfferStatus.ACCEPTED

    del fake.fail[str(BOB)]
    await bot.send(bot_membership(BOB, "member"))  # he unblocked the bot
    await new_lead(bot, "b-3")
    assert len(offers_to(fake, BOB)) == 1


async def test_a_dm_alone_does_not_hold_an_offer_whose_group_is_gone(bot):
    fake = bot.fake
    await bot.send(text(BOB, "Bob", BOB, "/start"))
    fake.fail[str(ACME)] = payload("send_error_blocked.json")
    offer_id = await new_lead(bot, "g-1")
    assert await offer_status(bot, offer_id) is OfferStatus.UNDELIVERABLE
    (dm,) = offers_to(fake, BOB)
    closed = latest(fake, BOB, int(dm["message_id"]))
    assert "Could not be delivered" in closed["text"] and keyboard(closed) == {}
    assert len(offers_to(fake, BETA)) == 1  # the lead moved on
    (told,) = fake.sent_to(MANAGERS)
    assert "telegram chat -1001000000002 is unreachable" in told["text"]


async def test_the_bot_removed_from_a_group_moves_its_leads_on_and_is_welcomed_back(bot):
    fake = bot.fake
    first = await new_lead(bot, "r-1")
    assert len(offers_to(fake, ACME)) == 1
    await bot.send(payload("bot_removed_from_group.json"))  # Bob removed the bot from ACME's
    await bot.deliver()
    assert await offer_status(bot, first) is OfferStatus.UNDELIVERABLE
    assert len(offers_to(fake, BETA)) == 1
    (told,) = fake.sent_to(MANAGERS)
    assert "telegram chat -1001000000002 is unreachable" in told["text"]
    assert "removed from the group by Bob" in told["text"] and "was passed on" in told["text"]

    await bot.send(bot_membership(ACME, "kicked"))  # again, banned this time: told once only
    await bot.deliver()
    await new_lead(bot, "r-2")
    assert len(offers_to(fake, ACME)) == 1 and len(offers_to(fake, BETA)) == 2
    assert len(fake.sent_to(MANAGERS)) == 1
    async with bot.services.uow() as uow:
        assert [b[0] for b in await uow.partners.list_broken()] == ["acme"]

    await bot.send(bot_membership(ACME, "member"))  # added back
    await bot.deliver()
    assert "telegram chat -1001000000002 is back" in fake.sent_to(MANAGERS)[-1]["text"]
    await new_lead(bot, "r-3")
    assert len(offers_to(fake, ACME)) == 2
    async with bot.services.uow() as uow:
        assert await uow.partners.list_broken() == []


async def test_a_rep_linked_by_deep_link_gets_dms_from_then_on(bot):
    fake, services = bot.fake, bot.services
    doc = document()
    doc["partners"][0]["members"].append({"name": "Dora", "slack": "U0DORA"})  # no Telegram id
    await apply(services, doc)
    code = await services.run(invite_member, name="Dora", partner_slug="acme")
    await bot.send(text(DORA, "Dora", DORA, "/start"))  # opening the bot is not linking
    await new_lead(bot, "l-1")
    assert offers_to(fake, DORA) == []
    await bot.send(text(DORA, "Dora", DORA, f"/start {code}"))
    assert "you are Dora" in fake.sent_to(DORA)[-1]["text"]
    await new_lead(bot, "l-2")
    (card,) = offers_to(fake, DORA)
    await bot.send(press(DORA, "Dora", keyboard(card)["Accept"], DORA, int(card["message_id"])))
    await bot.deliver()
    assert "Max Kunde" in latest(fake, DORA, int(card["message_id"]))["text"]


async def test_a_dm_copy_shows_no_contact_to_a_rep_who_has_left_the_partner(bot):
    """Bob got the offer as a DM, then left ACME (gone from leadbot.yaml); when ACME's new rep
    accepts, the group's card shows the contact, and Bob's old copy closes without it."""
    fake = bot.fake
    await bot.send(text(BOB, "Bob", BOB, "hello"))  # Bob started the bot: he gets DMs
    offer_id = await new_lead(bot, "d-9")
    (dm,) = offers_to(fake, BOB)
    doc = document()
    doc["partners"][0]["members"] = [{"name": "Dora", "telegram": DORA, "role": "partner_rep"}]
    await apply(bot.services, doc)
    (card,) = offers_to(fake, ACME)
    await bot.send(press(DORA, "Dora", keyboard(card)["Accept"], ACME, card["message_id"]))
    await bot.deliver()
    assert await offer_status(bot, offer_id) is OfferStatus.ACCEPTED
    contact = "Max Kunde"
    assert contact in unescape(latest(fake, ACME, card["message_id"])["text"])
    after = unescape(latest(fake, BOB, dm["message_id"])["text"])
    assert after != dm["text"] and contact not in after and "@example" not in after
