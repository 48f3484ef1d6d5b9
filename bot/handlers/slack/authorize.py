"""Bolt's authorize step: the bot token for the workspace a request comes from."""

from __future__ import annotations

from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize

from bot.handlers.slack.workspaces import Workspaces


class WorkspaceAuthorize(AsyncAuthorize):
    """An installed partner workspace answers with its own token; everything else (our own
    workspace, and Slack Connect channels we share, where the request names our team) with
    ours. Requests are signed by Slack, so a team we do not know is still Slack's word."""

    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces

    async def __call__(
        self,
        *,
        context: Any,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        bot = await self.workspaces.bot_for(team_id or "") or await self.workspaces.bot_for("")
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot.token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            user_id=user_id,
        )
