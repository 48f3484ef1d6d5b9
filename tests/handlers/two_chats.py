"""Leadbot with both real chat adapters (SlackMessenger over slack_sdk, TelegramMessenger over
PTB) against the sandbox's fake Slack and Telegram on loopback, on a fake clock; presses come
in over HTTP the way the platforms send them (signed Slack requests, webhook updates)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.bootstrap import Services, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.demo.hands import SlackHand, TelegramHand
from bot.handlers.http import create_app
from bot.sandbox.slack import FakeSlack, buttons
from bot.sandbox.telegram import FakeTelegram, keyboard
from tests.conftest import unpaced
from tests.e2e.serving import serve_app
from tests.factories import apply, config, partner

SLACK_SECRET, TELEGRAM_SECRET = "8f742231b10e8888abcd99yyyzzz85a5", "tg-secret-token"
CLIENT_TIMEOUT = 1.0  # seconds: a hung platform is given up on this fast here (Slack: 30 s)
SLACK_CHATS = {"s1": ("C0S1", "U0BOB"), "s2": ("C0S2", "U0SAM")}
TELEGRAM_CHATS = {"t1": (-1001000000011, 2002), "t2": (-1001000000012, 3003)}


def document() -> dict[str, Any]:
    """Two partners on Slack and two on Telegram, all covering the test leads."""
    partners = []
    for slug, (channel, user) in SLACK_CHATS.items():
        p = partner(slug, slack_channel=channel)
        p["members"] = [{"name": f"Rep {slug}", "slack": user, "role": "partner_admin"}]
        partners.append(p)
    for slug, (chat, user) in TELEGRAM_CHATS.items():
        p = partner(slug, slack_channel=None, telegram_chat=chat)
        p["members"] = [{"name": f"Rep {slug}", "telegram": user, "role": "partner_admin"}]
        partners.append(p)
    doc = config(partners, max_rounds=4, reminder_before="0s")
    doc["managers"] = {
        "slack_channel": "C0MANAGERS",
        "telegram_chat": -1001000000001,
        "members": [{"name": "Ada Admin", "slack": "U0ADA", "telegram": 1001}],
    }
    return doc


@dataclass
class Chats:
    slack: FakeSlack
    telegram: FakeTelegram
    services: Services
    client: httpx.AsyncClient  # to Leadbot's own HTTP server

    def posts(self) -> Counter[int]:
        """Offer cards the platforms accepted, per offer id (both platforms)."""
        seen: Counter[int] = Counter()
        for args in self.slack.called("chat.postMessage"):
            seen.update(_offer_of(buttons(args).values()))
        for args in self.telegram.called("sendMessage"):
            seen.update(_offer_of(keyboard(args).values()))
        return seen

    def slack_hand(self) -> SlackHand:
        return SlackHand(self.client, SLACK_SECRET, self.slack.url)

    def telegram_hand(self) -> TelegramHand:
        return TelegramHand(self.client, TELEGRAM_SECRET)


def _offer_of(values: Any) -> list[int]:
    """The offer an Accept button belongs to (`o:<id>:a`), if the message has one."""
    return [int(v.split(":")[1]) for v in values if v.startswith("o:") and v.endswith(":a")]


def card_of(message: dict[str, Any]) -> int | None:
    found = _offer_of((buttons(message) or keyboard(message)).values())
    return found[0] if found else None


@contextlib.asynccontextmanager
async def two_chats(database_url: str, clock: FakeClock) -> AsyncIterator[Chats]:
    slack, telegram = FakeSlack(), FakeTelegram()
    await slack.start()
    await telegram.start()
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SLACK_SECRET,
        slack_api_url=f"{slack.url}/api/",
        telegram_bot_token="123456:TEST",
        telegram_api_url=f"{telegram.url}/bot",
        telegram_webhook_url="https://leads.example.com/telegram/webhook",
        telegram_webhook_secret=TELEGRAM_SECRET,
        _env_file=None,
    )
    services = unpaced(build(settings, clock=clock))
    services.messengers["slack"].client.timeout = CLIENT_TIMEOUT  # type: ignore[attr-defined]
    quick = HTTPXRequest(
        connect_timeout=CLIENT_TIMEOUT, read_timeout=CLIENT_TIMEOUT, write_timeout=CLIENT_TIMEOUT
    )
    tg = services.messengers["telegram"]
    tg.bot = Bot("123456:TEST", base_url=f"{telegram.url}/bot", request=quick)  # type: ignore[attr-defined]
    port, stop = await serve_app(create_app(services))
    try:
        await apply(services, document())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield Chats(slack, telegram, services, client)
    finally:
        await stop()
        await services.close()
        await slack.stop()
        await telegram.stop()


async def drain(services: Services, *, passes: int = 50) -> None:
    """Outbox passes until nothing is due now (bounded)."""
    for _ in range(passes):
        if await services.sender.drain_once() == 0:
            return
    raise AssertionError("the outbox did not drain")


async def time_passes(services: Services, clock: FakeClock, seconds: float) -> None:
    """`seconds` of fake time in 5-second steps, the sender and the sweep working each step."""
    for _ in range(round(seconds / 5)):
        clock.advance(timedelta(seconds=5))
        await drain(services)
        await services.scheduler.sweep()
