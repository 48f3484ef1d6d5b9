"""A whole chat workspace going away: its token revoked, or the app uninstalled from it.

Every chat declared in that workspace is marked broken at once (no card goes there until it is
installed again or `leadbot config apply` declares it again), and the managers get one notice,
not one per chat or per lead.
"""

from __future__ import annotations

import logging

from bot.dispatch.common import notify_managers
from bot.dispatch.context import Context
from bot.dispatch.passing_on import pass_on_pending
from bot.messaging import Notice
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)


async def workspace_lost(
    uow: UnitOfWork, ctx: Context, *, platform: str, teams: set[str], reason: str
) -> int:
    """The workspace known as any of `teams` is gone for the bot; its installation is
    forgotten. Returns how many chats were newly marked broken."""
    for team in teams - {""}:
        await uow.installs.delete(team)
    broken = await uow.partners.mark_team_broken(
        platform=platform, teams=teams, reason=reason, now=ctx.now()
    )
    if broken:
        moved = await pass_on_pending(uow, ctx, broken, reason)
        await tell_workspace_broken(uow, ctx, broken, reason, passed_on=moved)
    await uow.commit()
    log.warning(
        "%s workspace %s gone (%s): %d chats marked broken", platform, teams, reason, len(broken)
    )
    return len(broken)


async def tell_workspace_broken(
    uow: UnitOfWork,
    ctx: Context,
    chats: list[Destination],
    reason: str,
    *,
    passed_on: list[str] | None = None,
) -> None:
    """One notice for the managers naming every chat of the workspace that is now broken."""
    if not chats:
        return
    platform = chats[0].platform
    names = await uow.partners.list_names()
    where = [
        ("the managers'" if d.partner_id is None else f"{names.get(d.partner_id, ('', '?'))[1]}'s")
        + f" {d.chat_id}"
        for d in chats
    ]
    team = chats[0].team
    fix = (
        "the app is installed there again (`leadbot partners invite SLUG --slack`)"
        if team
        else "a new bot token is set and `leadbot config apply` is run"
    )
    lines = [
        f"{platform.capitalize()} said: {reason.removeprefix(platform + ': ')}",
        "Chats affected: " + ", ".join(where),
        f"Nothing is sent there until {fix}.",
    ]
    if passed_on:
        lines.append(passed_on_line(passed_on))
    notice = Notice(
        title=f"The {platform} {f'workspace {team}' if team else 'home workspace'} is "
        f"unreachable ({len(chats)} {'chat' if len(chats) == 1 else 'chats'})",
        lines=lines,
        lead_ref=passed_on[0] if passed_on and len(passed_on) == 1 else None,
    )
    await notify_managers(uow, ctx, notice)


def passed_on_line(leads: list[str]) -> str:
    if len(leads) == 1:
        return f"Lead {leads[0]} was passed on."
    return f"Leads {', '.join(leads)} were passed on."
