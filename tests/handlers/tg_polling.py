"""A Leadbot instance polling the fake Telegram, as `leadbot serve` runs it without
TELEGRAM_WEBHOOK_URL, for the tests over long polling."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.bootstrap import Services, build
from bot.config import Settings
from bot.handlers.http import create_app
from bot.sandbox.telegram import FakeTelegram
from tests.conftest import deliver_all, unpaced
from tests.factories import config, partner
from tests.handlers.tg_payloads import ACME, ADA, BETA, BOB, CARLA, MANAGERS


def document(**bob: Any) -> dict[str, Any]:
    acme = partner("acme", slack_channel=None, telegram_chat=ACME, priority=1)
    acme["members"] = [{"name": "Bob", "telegram": BOB, "role": "partner_admin", **bob}]
    beta = partner("beta", slack_channel=None, telegram_chat=BETA, priority=2)
    beta["members"] = [{"name": "Carla", "telegram": CARLA, "role": "partner_rep"}]
    doc = config([acme, beta])
    doc["managers"] = {"telegram_chat": MANAGERS, "members": [{"name": "Ada", "telegram": ADA}]}
    return doc


@dataclass
class Bot:
    """One Leadbot instance polling the fake Telegram, wired the way `leadbot serve` wires it."""

    fake: FakeTelegram
    services: Services

    async def send(self, update: dict[str, Any]) -> None:
        """Queue an update and wait (bounded) until the bot has handled it."""
        update_id = await self.fake.push(update)
        async with asyncio.timeout(10):
            await self.fake.handled(update_id)

    async def deliver(self) -> None:
        await deliver_all(self.services)


def settings_for(fake: FakeTelegram, database_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database_url,
        telegram_bot_token="123456:TEST",
        telegram_api_url=f"{fake.url}/bot",
        _env_file=None,
    )


async def start_instance(fake: FakeTelegram, database_url: str, clock) -> Bot:
    services = unpaced(build(settings_for(fake, database_url), clock=clock))
    create_app(services)  # no webhook URL: the app brings long polling as a starter
    for start in services.starters:
        await start()
    return Bot(fake, services)


def latest(fake: FakeTelegram, chat: int, message_id: int) -> dict[str, Any]:
    """The message as it stands: its last edit, else as sent."""
    for method in ("editMessageText", "sendMessage"):
        found = [
            a
            for a in fake.called(method)
            if (str(a["chat_id"]), int(a["message_id"])) == (str(chat), message_id)
        ]
        if found:
            return found[-1]
    raise AssertionError(f"no message {message_id} in {chat}")
