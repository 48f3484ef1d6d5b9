"""Telegram: the messenger, HTML rendering, and the handlers fed by the webhook or by polling."""

from __future__ import annotations

from bot.bootstrap import Services
from bot.handlers.telegram.messenger import TelegramMessenger
from bot.handlers.telegram.polling import TelegramPolling
from bot.handlers.telegram.updates import TelegramUpdates, TelegramWebhook, telegram_application


def telegram_updates(services: Services) -> TelegramWebhook | TelegramPolling:
    """Webhook mode when TELEGRAM_WEBHOOK_URL is set, else long polling; started and closed
    with the services (`leadbot serve`)."""
    receiver: TelegramWebhook | TelegramPolling = (
        TelegramWebhook(services)
        if services.settings.telegram_webhook_url
        else TelegramPolling(services)
    )
    services.starters.append(receiver.start)
    services.closers.append(receiver.close)
    services.chat_states["telegram"] = receiver.state
    services.ctx.hooks.applied = receiver.applied
    return receiver


__all__ = [
    "TelegramMessenger",
    "TelegramPolling",
    "TelegramUpdates",
    "TelegramWebhook",
    "telegram_application",
    "telegram_updates",
]
