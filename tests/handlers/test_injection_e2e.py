"""A lead whose every field tries to inject markup, through the real Slack and Telegram adapters
to their fakes over loopback: the card, the card after Accept (with the contact), the funnel
and open-offers answers and the App Home carry none of it as markup."""

from __future__ import annotations

import json
import urllib.parse

from bot.dispatch import accept_offer
from bot.domain.leads import Contact
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, actor_for, lead
from tests.handlers.test_slack import PAYLOADS, _true, post, slack_bot, until  # noqa: F401
from tests.handlers.test_telegram import send, telegram_bot  # noqa: F401
from tests.handlers.tg_payloads import ACME, text

NASTY = "<!channel> <!here> <@U123> <https://evil.example|click> *b* </b><a href='x'>&amp;"
HIDDEN = "\u202e\u200b\u2066"
RAW = ["<!channel>", "<!here>", "<@U123>", "<https://evil", "</b><a href='x'>", "&amp;amp;amp;"]


def nasty_lead(external_id: str):
    value = NASTY + HIDDEN + "\nPhone: +1 900"
    contact = Contact(name=value, email="max@example.com", phone="+49 89 1", company=value)
    return lead(external_id, need=value, city=value, contact=contact)


def strings(data: object) -> list[str]:
    """Every string inside `data` (JSON in strings opened up)."""
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    if isinstance(data, str) and data[:1] in "[{":
        try:
            return strings(json.loads(data))
        except ValueError:
            return [data]
    return [data] if isinstance(data, str) else []


def assert_inert(sent: list[str]) -> None:
    everything = "\n".join(sent)
    assert "&lt;!channel&gt;" in everything  # the text is there, escaped
    for raw in RAW:
        assert raw not in everything, raw
    assert not set(HIDDEN) & set(everything)
    assert "\nPhone: +1 900" not in everything  # cannot pose as a line of the card


async def test_slack_shows_injection_attempts_as_text(slack_bot):  # noqa: F811
    fake, services, client = slack_bot
    stored, _, (offer_id,) = await services.submit_lead(nasty_lead("i-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    bob = await actor_for(services, "U0BOB")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    await deliver_all(services)
    fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text().strip()))
    fields.update(
        user_id="U0ADA", response_url=f"{fake.url}/respond/cmd", text="why " + stored.public_id
    )
    await post(client, urllib.parse.urlencode(fields))
    await until(lambda: _true(fake.responses))
    sent = [s for c in fake.calls for s in strings(c.args)] + strings(fake.responses)
    assert_inert(sent)
    updates = [c["blocks"] for c in fake.called("chat.update")]
    sections = [b for blocks in updates for b in blocks if b["type"] == "section"]
    assert sections and all(b["text"]["verbatim"] for b in sections)


async def test_telegram_shows_injection_attempts_as_text(telegram_bot):  # noqa: F811
    fake, services, client = telegram_bot
    stored, _, (offer_id,) = await services.submit_lead(nasty_lead("i-2"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        bob = await uow.members.find_actor(platform="telegram", external_id="2002")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    await deliver_all(services)
    assert await send(client, text(2002, "Bob" + NASTY, ACME, "/open")) == 200
    sent = [s for _m, args in fake.calls for s in strings(args)]
    assert_inert(sent)
