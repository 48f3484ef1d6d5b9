"""`leadbot serve`: everything in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os

import uvicorn
from sqlalchemy.exc import IntegrityError

from bot.bootstrap import Services, build
from bot.config import Settings
from bot.domain.errors import ConfigError
from bot.operations import apply_config
from bot.secret_checks import weak_secrets, weak_webhook_secrets, webhook_secret_names
from bot.store.db import is_sqlite
from bot.store.migrate import migrate

log = logging.getLogger("leadbot")


def chat_status(settings: Settings) -> list[str]:
    """One line per platform saying whether it is on, for the start-up log."""
    return [
        "Slack: " + slack_status(settings),
        "Telegram: " + telegram_status(settings),
    ]


def slack_status(settings: Settings) -> str:
    if not settings.slack_enabled:
        return "off (SLACK_BOT_TOKEN not set)"
    modes = [
        name
        for name, on in (
            ("Socket Mode", settings.slack_app_token),
            ("HTTP mode at /slack/events", settings.slack_signing_secret),
            ("partner installs at /slack/install", settings.slack_oauth_enabled),
        )
        if on
    ]
    if not (settings.slack_app_token or settings.slack_signing_secret):
        return (
            "sending only (neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET set: "
            "presses and /lead are refused)"
        )
    return "on (" + ", ".join(modes) + ")"


def telegram_status(settings: Settings) -> str:
    if not settings.telegram_enabled:
        return "off (TELEGRAM_BOT_TOKEN not set)"
    if not settings.telegram_webhook_url:
        if is_sqlite(settings.database_url):
            return "on (long polling; several instances need webhook mode: TELEGRAM_WEBHOOK_URL)"
        return (
            "on (long polling: only one instance may poll a bot token; to run several "
            "instances on this PostgreSQL, use webhook mode: TELEGRAM_WEBHOOK_URL)"
        )
    if settings.telegram_webhook_secret:
        return "on (webhook)"
    return "sending only (TELEGRAM_WEBHOOK_SECRET not set: webhook updates are refused)"


async def prepare(services: Services) -> None:
    """Migrate, then apply leadbot.yaml if present (a bad file keeps the running policy)."""
    settings = services.settings
    revision = await migrate(services.engine)
    log.info("database schema at revision %s", revision)
    if settings.leadbot_config.exists():
        try:
            version = await apply_config(services, settings.leadbot_config)
            log.info("applied %s as policy version %s", settings.leadbot_config, version)
        except ConfigError as exc:
            log.error(
                "%s was refused; keeping the policy in force:\n%s", settings.leadbot_config, exc
            )
        except IntegrityError:  # another instance applied it at the same moment: theirs stands
            log.warning(
                "another instance applied %s at the same time; using its version",
                settings.leadbot_config,
            )
    else:
        log.warning(
            "%s not found; using the policy already in the database", settings.leadbot_config
        )


def settle_memory() -> None:
    """Move everything built at start-up out of the garbage collector's sight.

    Without this, each full collection walks every module, table and compiled statement:
    pauses of 50 ms and more, which land on whichever lead is in flight (design.md B2).
    """
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> None:
    """Run the HTTP server, the outbox sender and the timers until interrupted; ConfigError
    (nothing started) for a placeholder secret."""
    from bot.handlers.http import create_app

    if problems := weak_secrets(settings):
        raise ConfigError(problems)
    services = build(settings)
    try:
        await prepare(services)
        async with services.uow() as uow:
            names = await webhook_secret_names(uow, services.ctx)
        if problems := weak_webhook_secrets(names, os.environ):
            raise ConfigError(problems)
        for line in chat_status(settings):
            log.info(line)
        if not services.messengers:
            log.warning(
                "no chat platform configured: offers cannot be delivered and will go "
                "to the managers as undeliverable"
            )
        await services.start()
        app = create_app(services)
        for start in services.starters:  # adapters' start-up calls (Telegram's setWebhook...)
            try:
                await start()
            except Exception:
                log.exception("a chat adapter could not finish starting; it may not answer")
        config = uvicorn.Config(
            app,
            host=settings.leadbot_host,
            port=settings.leadbot_port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        settle_memory()
        log.info("listening on http://%s:%s", settings.leadbot_host, settings.leadbot_port)
        await server.serve()
    finally:
        await close_fully(services)


async def close_fully(services: Services) -> None:
    """Release everything, also after Ctrl-C: uvicorn, once stopped, hands the signal on to
    asyncio, which cancels this task; closing goes on regardless (a second Ctrl-C still quits).
    Without this no adapter closes (Telegram polling would not confirm its last updates)."""
    closing = asyncio.ensure_future(services.close())
    while not closing.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(closing)
