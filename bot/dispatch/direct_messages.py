"""Telegram DMs to reps: the private chat is noted when a linked partner member writes to the
bot there, and each member may switch the DMs with `/dm on|off` (their choice wins over
leadbot.yaml's `telegram_dm`)."""

from __future__ import annotations

from bot.dispatch.context import Context
from bot.domain.actors import Actor
from bot.domain.offers import Outcome
from bot.store.uow import UnitOfWork


async def note_private_chat(
    uow: UnitOfWork, ctx: Context, *, actor: Actor, platform: str, chat_id: str
) -> bool:
    """The member has started the bot in a private chat: their partner's offers may be copied
    there. True when this was news (first time, or after they had blocked the bot)."""
    if actor.member_id is None or actor.partner_id is None:
        return False  # managers get no offer DMs
    noted = await uow.chats.note_private(
        member_id=actor.member_id, partner_id=actor.partner_id, platform=platform, chat_id=chat_id
    )
    if noted:
        await uow.commit()
    return noted


async def set_direct_messages(
    uow: UnitOfWork, ctx: Context, *, actor: Actor, wanted: bool | None
) -> Outcome:
    """Switch the member's DMs with new offers on or off (None: say how they stand)."""
    if actor.member_id is None or actor.partner_id is None:
        return Outcome.refused("DMs carry a partner's new leads to its people; managers get none.")
    if wanted is not None:
        await uow.members.set_dm_choice(actor.member_id, wanted=wanted)
        await uow.commit()
    default, choice = await uow.members.get_dm_choice(actor.member_id)
    on = default if choice is None else choice
    why = "leadbot.yaml's setting" if choice is None else "your choice"
    if on:
        return Outcome.done(
            f"DMs with new leads: on ({why}). Each new lead for your partner comes here too, "
            "with Accept and Decline. Send /dm off to stop them."
        )
    return Outcome.done(f"DMs with new leads: off ({why}). Send /dm on to get them here.")
