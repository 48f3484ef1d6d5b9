"""Slack: the messenger, Block Kit rendering, the Bolt listeners, Socket Mode and installs.

`mount` puts Slack on the Leadbot HTTP server: `POST /slack/events` (HTTP mode, with the
signing secret), `GET /slack/install` and `/slack/oauth_redirect` (with a client id and
secret), and Socket Mode started and stopped with the services (with an app token).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Services
from bot.config import Settings
from bot.handlers.slack.authorize import WorkspaceAuthorize
from bot.handlers.slack.events import register_events
from bot.handlers.slack.listeners import register
from bot.handlers.slack.messenger import SlackMessenger
from bot.handlers.slack.payload import refusal
from bot.handlers.slack.retry import retry_handlers
from bot.handlers.slack.workspaces import DbInstallationStore, Workspaces
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: no token of its own (each call names its workspace's token)."""
    return AsyncWebClient(base_url=settings.slack_api_url, retry_handlers=retry_handlers())


def slack_messenger(settings: Settings, uow_factory: Callable[[], UnitOfWork]) -> SlackMessenger:
    """The messenger, speaking with our token in our workspace and with each installed
    workspace's own token in that one."""
    assert settings.slack_bot_token is not None
    client = slack_client(settings)
    workspaces = Workspaces(
        client,
        home_token=settings.slack_bot_token.get_secret_value(),
        store=DbInstallationStore(uow_factory) if settings.slack_oauth_enabled else None,
    )
    return SlackMessenger(client, workspaces=workspaces)


def slack_app(services: Services, messenger: SlackMessenger) -> AsyncApp:
    """The Bolt app, sharing the messenger's Web API client and its workspaces."""
    settings = services.settings
    flow = None
    if settings.slack_oauth_enabled:
        from bot.handlers.slack.oauth import InviteFlow

        flow = InviteFlow(services, messenger.workspaces, messenger.client)
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=messenger.client,
        signing_secret=secret.get_secret_value() if secret else "",
        authorize=WorkspaceAuthorize(messenger.workspaces),  # type: ignore[arg-type]
        oauth_flow=flow,
    )
    register(app, services, messenger.workspaces)
    register_events(app, services, messenger.workspaces)
    return app


def mount(api: FastAPI, services: Services) -> None:
    """Slack's endpoints on `api`, and Socket Mode in the services' start and close steps."""
    settings = services.settings
    messenger = services.messengers.get("slack")
    if not isinstance(messenger, SlackMessenger):
        return

    async def warm_up() -> None:  # learn our own team (auth.test) and open the session
        messenger.connected()
        home = await messenger.workspaces.home()
        team = home.team_id if home else "unknown (auth.test failed)"
        log.info("Slack: our workspace is %s", team)

    services.starters.append(warm_up)

    async def sending_only() -> tuple[str, bool]:
        return "sending only (no signing secret or app token: presses are refused)", True

    services.chat_states["slack"] = sending_only
    if not (
        settings.slack_signing_secret or settings.slack_app_token or settings.slack_oauth_enabled
    ):
        return
    app = slack_app(services, messenger)
    handler = AsyncSlackRequestHandler(app)
    if settings.slack_signing_secret:
        verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value())

        @api.post("/slack/events", include_in_schema=False)
        async def slack_events(request: Request) -> Response:
            """Slack's events, button presses, modals and slash commands (signature checked)."""
            return await refusal(request, verifier) or await handler.handle(request)

        async def http_mode() -> tuple[str, bool]:
            return "http mode (/slack/events)", True

        services.chat_states["slack"] = http_mode

    if app.oauth_flow is not None:

        @api.get("/slack/install", include_in_schema=False)
        async def slack_install(request: Request) -> Response:
            """The install page for a partner's workspace (needs an invite from the CLI)."""
            return await handler.handle(request)

        @api.get("/slack/oauth_redirect", include_in_schema=False)
        async def slack_oauth_redirect(request: Request) -> Response:
            """Slack sends the installing admin back here (state checked, used once)."""
            return await handler.handle(request)

    if settings.slack_app_token:
        from bot.handlers.slack.socket import SocketMode

        socket = SocketMode(app, settings.slack_app_token.get_secret_value())
        services.starters.append(socket.start)
        services.closers.append(socket.close)
        services.chat_states["slack"] = socket.state


__all__ = ["SlackMessenger", "mount", "slack_app", "slack_client", "slack_messenger"]
