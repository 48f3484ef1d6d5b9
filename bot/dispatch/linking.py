"""invite_member and link_account: a person links their chat account to their member entry.

A manager runs `leadbot members invite NAME`; the person sends `link CODE` (Telegram:
`/start CODE`, or the t.me link) from their own chat account. Codes work once, for 7 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.dispatch.context import Context
from bot.domain.offers import Outcome
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)
CODE_VALID = timedelta(days=7)


@dataclass(frozen=True)
class ChatIdentity:
    """Who typed a command: the account on its platform (team: the Slack workspace, or '')."""

    platform: str
    external_id: str
    team: str = ""


async def invite_member(
    uow: UnitOfWork, ctx: Context, *, name: str, partner_slug: str | None
) -> Outcome | str:
    """A one-time link code for the member `name` (a manager when no partner is given)."""
    partner_id = None
    if partner_slug is not None:
        found = await uow.partners.get_by_slug(partner_slug)
        if found is None:
            return Outcome.refused(f"There is no partner '{partner_slug}'.")
        partner_id = found[0]
    member_id = await uow.members.find(name, partner_id=partner_id)
    if member_id is None:
        whose = f"Partner '{partner_slug}' has" if partner_slug else "The managers have"
        return Outcome.refused(
            f"{whose} no member called '{name}': "
            + _where_else(name, await uow.members.list_owners(name))
        )
    code = await uow.members.create_code(member_id, now=ctx.now(), valid=CODE_VALID)
    await uow.commit()
    return code


def _where_else(name: str, owners: list[str | None]) -> str:
    """Where the member is, when the operator asked under the wrong partner (or none)."""
    if None in owners:
        return f"'{name}' is a manager: leave out --partner."
    if owners:
        partner = owners[0]
        return f"'{name}' is a member of {partner}: add --partner {partner}."
    return "add them under `members` in leadbot.yaml and apply it first."


async def link_account(
    uow: UnitOfWork, ctx: Context, *, code: str, identity: ChatIdentity
) -> Outcome:
    """Link the chat account that sent `code` to the member the code was made for."""
    owner = await uow.members.identity_owner(
        platform=identity.platform, team=identity.team, external_id=identity.external_id
    )
    if owner is not None:
        name = await uow.members.name_of(owner)
        return Outcome.refused(f"This account is already linked to {name}.")
    member_id = await uow.members.redeem(code, now=ctx.now())
    if member_id is None:
        return Outcome.refused("That code is unknown, used or expired: ask for a new one.")
    await uow.members.link(
        member_id,
        platform=identity.platform,
        team=identity.team,
        external_id=identity.external_id,
        now=ctx.now(),
    )
    name = await uow.members.name_of(member_id)
    await uow.commit()
    log.info("%s account %s linked to %s", identity.platform, identity.external_id, name)
    return Outcome.done(f"Linked: you are {name}. Send 'help' to see what you can do.")
