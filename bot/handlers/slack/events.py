"""Slack events: the App Home tab opened, and the app uninstalled or its tokens revoked in a
workspace (every chat there is marked broken, the managers told once)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bootstrap import Services
from bot.dispatch.workspaces import workspace_lost
from bot.handlers.slack.home import publish_home
from bot.handlers.slack.payload import part, text
from bot.handlers.slack.workspaces import Workspaces


def register_events(app: AsyncApp, services: Services, workspaces: Workspaces) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], body: dict[str, Any], client: Any) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab
        user, team = text(event, "user"), text(body, "team_id") or text(event, "view", "team_id")
        if user:  # a Home tab opened by nobody has nobody to be drawn for
            await publish_home(services, workspaces, client, user=user, team=team)

    async def lost(body: dict[str, Any], reason: str) -> None:
        team = text(body, "team_id")
        if not team:
            return
        teams = {team, ""} if await workspaces.is_home(team) else {team}
        workspaces.forget(team)
        await services.run(workspace_lost, platform="slack", teams=teams, reason=f"slack: {reason}")

    @app.event("app_uninstalled")
    async def uninstalled(body: dict[str, Any]) -> None:
        await lost(body, "app_uninstalled")

    @app.event("tokens_revoked")
    async def revoked(event: dict[str, Any], body: dict[str, Any]) -> None:
        if part(event, "tokens").get("bot"):  # user tokens: Leadbot asks for none
            await lost(body, "tokens_revoked")
