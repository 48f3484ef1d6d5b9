"""Slack: the messenger, Block Kit rendering and the Bolt listeners (HTTP mode)."""

from __future__ import annotations

from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Services
from bot.config import Settings
from bot.handlers.slack.listeners import register
from bot.handlers.slack.messenger import SlackMessenger


def slack_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )


def slack_handler(services: Services) -> AsyncSlackRequestHandler:
    """The Bolt app for `POST /slack/events`, sharing the messenger's Web API client."""
    settings = services.settings
    messenger = services.messengers.get("slack")
    assert isinstance(messenger, SlackMessenger) and settings.slack_signing_secret is not None
    app = AsyncApp(
        client=messenger.client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
    )
    register(app, services)
    return AsyncSlackRequestHandler(app)


__all__ = ["SlackMessenger", "slack_client", "slack_handler"]
