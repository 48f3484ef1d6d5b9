"""Telegram: the messenger, HTML rendering and the handlers (webhook mode)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.bootstrap import Services
from bot.config import Settings
from bot.handlers.telegram.listeners import register
from bot.handlers.telegram.messenger import TelegramMessenger


def telegram_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB application: no job queue (our scheduler owns timers), no updater (webhook)."""
    assert settings.telegram_bot_token is not None
    return (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .job_queue(None)
        .updater(None)
        .build()
    )


class TelegramWebhook:
    """`POST /telegram/webhook`: checks Telegram's secret header, then handles the update."""

    def __init__(self, services: Services) -> None:
        self.application = telegram_application(services.settings)
        self.services = services
        secret = services.settings.telegram_webhook_secret
        self.secret = secret.get_secret_value() if secret else None
        register(self.application, services)
        self._started = asyncio.Lock()
        self._ready = False

    async def handle(self, data: dict[str, Any]) -> None:
        async with self._started:
            if not self._ready:
                await self.application.initialize()
                self._ready = True
        update = Update.de_json(data, self.application.bot)
        await self.application.process_update(update)

    async def close(self) -> None:
        if self._ready:
            await self.application.shutdown()
            self._ready = False


__all__ = ["TelegramMessenger", "TelegramWebhook", "telegram_application"]
