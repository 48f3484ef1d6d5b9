"""Where Telegram's updates come in: the PTB application with our handlers, fed either by the
webhook (`POST /telegram/webhook`) or by long polling (bot/handlers/telegram/polling.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
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
        self._menus_for: int | None = None  # the configuration the menus were last set for
        self._menus: asyncio.Task[None] | None = None  # menus being set again, after a sweep

    async def _initialize(self) -> None:
        async with self._started:
            if not self._ready:
                await self.application.initialize()
                self._ready = True

    async def set_menus(self) -> None:
        """The command menus (bot/handlers/telegram/menus.py): at start, and again when a
        sweep sees a newer configuration (`applied`)."""
        await self._initialize()
        async with self.services.uow() as uow:
            version = await uow.config.current_version()
        self._menus_for = version  # tried once per configuration: a refusal is not retried
        await set_menus(self.application.bot, self.services)

    def applied(self, version: int) -> None:
        """A sweep saw `version` as the newest configuration (a hook): if the menus were set
        for an older one, set them again in the background, so that a managers' group or a
        partner admin added to leadbot.yaml gets its menu without a restart."""
        stale = self._menus_for is not None and version > self._menus_for
        if stale and (self._menus is None or self._menus.done()):
            self._menus = asyncio.create_task(self._set_menus_again(), name="telegram-menus")

    async def _set_menus_again(self) -> None:
        try:
            await self.set_menus()
        except TelegramError as exc:  # cosmetic: commands work without the menu
            log.warning("Telegram: the command menus could not be set again (%s)", exc)

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
        if self._menus is not None:
            self._menus.cancel()
            await asyncio.gather(self._menus, return_exceptions=True)
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
