"""A partner installs the app in its own Slack workspace (multi-workspace install).

A manager runs `leadbot partners invite SLUG --slack` and sends the printed link to the
partner's admin (`invite_install`). Visiting it issues a one-time OAuth state bound to that
invite (`start_install`); Slack's redirect brings the state back (`consume_state`), and the
installation is recorded for the partner (`record_install`) if its workspace is the one
leadbot.yaml names for that partner (or none is named yet: the managers are told what to add).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot.dispatch.common import notify_managers
from bot.dispatch.context import Context
from bot.domain.offers import Outcome
from bot.domain.partners import PartnerStatus
from bot.messaging import Notice
from bot.store.installs import Installation
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)
INVITE_VALID = timedelta(days=7)
STATE_VALID = timedelta(minutes=10)  # Slack's consent screen to our redirect


async def invite_install(uow: UnitOfWork, ctx: Context, *, partner_slug: str) -> Outcome | str:
    """A new install link token for the partner (valid 7 days, works once)."""
    found = await uow.partners.get_by_slug(partner_slug)
    if found is None or found[2] is PartnerStatus.RETIRED:
        return Outcome.refused(f"There is no partner '{partner_slug}' in leadbot.yaml.")
    token = await uow.installs.create_invite(found[0], now=ctx.now(), valid=INVITE_VALID)
    await uow.commit()
    return token


async def start_install(
    uow: UnitOfWork, ctx: Context, *, invite_token: str
) -> Outcome | tuple[str, str]:
    """(OAuth state, partner name) for a visit of the install link; refused if the link is
    unknown, used or expired."""
    invite = await uow.installs.find_invite(invite_token, now=ctx.now())
    if invite is None:
        return Outcome.refused(
            "This install link is unknown, used or expired: ask your Leadbot contact for a new one."
        )
    state = await uow.installs.issue_state(invite.id, now=ctx.now(), valid=STATE_VALID)
    name = await uow.partners.get_name(invite.partner_id)
    await uow.commit()
    return state, name


async def consume_state(uow: UnitOfWork, ctx: Context, *, state: str) -> bool:
    """Use an OAuth state once: False if unknown, used, expired, or its invite is used up."""
    ok = await uow.installs.consume_state(state, now=ctx.now())
    await uow.commit()
    return ok


async def record_install(
    uow: UnitOfWork,
    ctx: Context,
    *,
    state: str,
    installation: Installation,
    home_team: str | None,
) -> Outcome:
    """Store the workspace's installation for the invited partner, or refuse (nothing stored)."""
    invite = await uow.installs.invite_of_state(state)
    if invite is None or invite.used:
        return Outcome.refused("This install link was used already: ask for a new one.")
    team, team_name = installation.team_id, installation.team_name or installation.team_id
    if team == home_team:
        return Outcome.refused(
            f"{team_name} is the manufacturer's own workspace, where Leadbot is installed "
            "already: install it in your company's workspace instead."
        )
    partner = await uow.partners.get_name(invite.partner_id)
    slug = (await uow.partners.list_names()).get(invite.partner_id, ("?", ""))[0]
    declared = await uow.partners.declared_teams(invite.partner_id, platform="slack") - {""}
    if declared and team not in declared:
        return Outcome.refused(
            f"Leadbot expects {partner} in the Slack workspace {', '.join(sorted(declared))}, "
            f"but this is {team_name} ({team}): install it in that workspace, or ask your "
            "Leadbot contact to correct leadbot.yaml."
        )
    now = ctx.now()
    if not await uow.installs.use_invite(invite.id, team_id=team, now=now):  # a second tab won
        return Outcome.refused("This install link was used already: ask for a new one.")
    await uow.installs.save(replace(installation, partner_id=invite.partner_id), now=now)
    await uow.partners.clear_team_broken(platform="slack", team=team)
    if declared:
        lines = [f"Cards for {partner} now go out with that workspace's token."]
    else:
        lines = [
            f"Set `slack_team: {team}` and their channel there (`slack_channel:`) for {slug} in "
            "leadbot.yaml, then run `leadbot config apply`."
        ]
    notice = Notice(
        title=f"{partner} installed Leadbot in their Slack workspace {team_name} ({team})",
        lines=lines,
    )
    await notify_managers(uow, ctx, notice)
    await uow.commit()
    log.info("slack workspace %s installed for partner %s", team, slug)
    return Outcome.done(f"Leadbot is installed in {team_name} for {partner}.")
