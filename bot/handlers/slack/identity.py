"""Who a Slack user is for Leadbot: identities are keyed by (team, user).

Slack Connect brings users of other workspaces into our channels; their presses carry their own
`user.team_id`. Accounts listed in leadbot.yaml are stored with the team their member entry
names (`slack_team:`, by default the partner's `slack_team`), or with no team, meaning our own
workspace; accounts linked with a code keep the team they linked from.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.bootstrap import Services
from bot.domain.actors import Actor
from bot.handlers.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


async def _lookup(services: Services, workspaces: Workspaces, user: str, team: str) -> Actor | None:
    home = await workspaces.is_home(team)  # before the transaction: it may call Slack
    async with services.uow() as uow:
        found = await uow.members.find_actor(platform="slack", external_id=user, team=team)
        if found is None and home and team:
            found = await uow.members.find_actor(platform="slack", external_id=user, team="")
    return found


async def find_actor(
    services: Services, workspaces: Workspaces, *, user: str, team: str
) -> Actor | None:
    """The member behind `user` of workspace `team` (as a press's `user.team_id` says)."""
    if not user or not team:
        return None
    return await _lookup(services, workspaces, user, team)


async def resolve_actor(
    services: Services, workspaces: Workspaces, client: Any, *, user: str, team: str
) -> tuple[Actor | None, str]:
    """(member, the user's own team) when the payload's team may be the workspace the request
    came through rather than the user's (slash commands, App Home): if `user` is not known
    under `team`, Slack is asked (`users.info`) which team the user belongs to."""
    if not user:
        return None, team
    if team and (found := await _lookup(services, workspaces, user, team)) is not None:
        return found, team
    try:
        info = await client.users_info(user=user)
        own = str((info.get("user") or {}).get("team_id") or team)
    except (SlackApiError, OSError) as exc:
        log.warning("slack users.info for a command's user failed: %r", exc)
        return None, team
    if own == team or not own:
        return None, team
    return await _lookup(services, workspaces, user, own), own
