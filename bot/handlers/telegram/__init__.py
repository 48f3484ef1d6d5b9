"""Telegram: the messenger, HTML rendering and the handlers (webhook mode)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.ext import Application

from bot.bootstrap import Services
from bot.commands import VERBS
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

    async def _initialize(self) -> None:
        async with self._started:
            if not self._ready:
                await self.application.initialize()
                self._ready = True

    async def start(self) -> None:
        """Tell Telegram where to send updates (with the secret) and which commands to show:
        partners see theirs, the managers' groups all of them."""
        await self._initialize()
        bot = self.application.bot
        settings = self.services.settings
        if settings.telegram_webhook_url and self.secret:
            await bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=self.secret,
                allowed_updates=["message", "callback_query", "my_chat_member"],
            )
        everyone = [BotCommand(v, VERBS[v].does[:256]) for v in ("help", "funnel", "open")]
        await bot.set_my_commands(everyone)
        async with self.services.uow() as uow:
            managers = await uow.partners.list_destinations(partner_id=None)
        every_verb = [BotCommand(v, spec.does[:256]) for v, spec in VERBS.items() if v != "link"]
        for dest in managers:
            if dest.platform == "telegram":
                await bot.set_my_commands(every_verb, scope=BotCommandScopeChat(int(dest.chat_id)))

    async def handle(self, data: dict[str, Any]) -> None:
        await self._initialize()
        update = Update.de_json(data, self.application.bot)
        await self.application.process_update(update)

    async def close(self) -> None:
        if self._ready:
            await self.application.shutdown()
            self._ready = False


__all__ = ["TelegramMessenger", "TelegramWebhook", "telegram_application"]
