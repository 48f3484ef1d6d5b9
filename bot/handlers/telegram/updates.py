"""Where Telegram's updates come in: the PTB application with our handlers, fed either by the
webhook (`POST /telegram/webhook`) or by long polling (bot/handlers/telegram/polling.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.bootstrap import Services
from bot.config import Settings
from bot.handlers.telegram.listeners import register
from bot.handlers.telegram.menus import set_menus
from bot.handlers.telegram.shape import readable

log = logging.getLogger(__name__)
UPDATES = ["message", "callback_query", "my_chat_member"]  # what the handlers take


def telegram_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB application: no job queue (our scheduler owns timers), no PTB updater (the
    webhook, or our own polling loop, hands it the updates)."""
    assert settings.telegram_bot_token is not None
    return (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .job_queue(None)
        .updater(None)
        .build()
    )


class TelegramUpdates:
    """The handlers, and the start-up calls both modes make (the command menus)."""

    def __init__(self, services: Services) -> None:
        self.application = telegram_application(services.settings)
        self.services = services
        register(self.application, services)
        self._started = asyncio.Lock()
        self._ready = False

    async def _initialize(self) -> None:
        async with self._started:
            if not self._ready:
                await self.application.initialize()
                self._ready = True

    async def set_menus(self) -> None:
        """The command menus (bot/handlers/telegram/menus.py), at start."""
        await self._initialize()
        await set_menus(self.application.bot, self.services)

    async def handle(self, data: dict[str, Any]) -> None:
        """Handle one update in Telegram's JSON shape; one that cannot be read is dropped with
        a warning (answering Telegram with an error would only make it send the update again)."""
        await self._initialize()
        wrong = readable(data)
        if wrong is None:
            try:
                update = Update.de_json(data, self.application.bot)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # other kinds
                wrong = repr(exc)
        if wrong is not None:
            log.warning("a Telegram update Leadbot cannot read was dropped (%s)", wrong[:200])
            return
        await self.process(update)

    async def process(self, update: Update) -> None:
        await self.application.process_update(update)

    async def close(self) -> None:
        if self._ready:
            await self.application.shutdown()
            self._ready = False


class TelegramWebhook(TelegramUpdates):
    """`POST /telegram/webhook`: Telegram posts each update, with the secret it was given."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        secret = services.settings.telegram_webhook_secret
        self.secret = secret.get_secret_value() if secret else None

    async def state(self) -> tuple[str, bool]:
        """For /healthz."""
        if self.secret:
            return "webhook", True
        return "sending only (TELEGRAM_WEBHOOK_SECRET not set)", True

    async def start(self) -> None:
        """Tell Telegram where to send updates (with the secret), and the command menus."""
        await self._initialize()
        url = self.services.settings.telegram_webhook_url
        if url and self.secret:
            await self.application.bot.set_webhook(
                url, secret_token=self.secret, allowed_updates=UPDATES
            )
        await self.set_menus()
