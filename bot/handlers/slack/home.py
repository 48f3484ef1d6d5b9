"""The App Home tab: drawn with `views.publish` when a person opens it, and again after a press
made on it (the tab has no message to answer under)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.bootstrap import Services
from bot.domain.offers import Outcome
from bot.handlers.slack.blocks import home_tab
from bot.handlers.slack.identity import resolve_actor
from bot.handlers.slack.workspaces import Workspaces
from bot.reports.home import home_view

log = logging.getLogger(__name__)


async def publish_home(
    services: Services,
    workspaces: Workspaces,
    client: Any,
    *,
    user: str,
    team: str,
    note: Outcome | None = None,
) -> None:
    """Draw `user`'s Home tab as things stand, `note` (a press's answer) on top."""
    actor, _team = await resolve_actor(services, workspaces, client, user=user, team=team)
    home = await services.run(home_view, actor=actor)
    try:
        await client.views_publish(user_id=user, view=home_tab(home, note=note))
    except SlackApiError as exc:
        log.warning("slack views.publish failed: %s", exc.response.get("error"))
