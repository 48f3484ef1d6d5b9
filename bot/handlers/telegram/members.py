"""Who is writing, and where the bot is: private chats of linked members (DM copies go there)
and `my_chat_member` updates (the bot removed from a group, blocked, or back)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import ChatMember, ChatMemberRestricted, Update

from bot.bootstrap import Services
from bot.dispatch.chats import chat_back, chat_gone
from bot.dispatch.direct_messages import note_private_chat
from bot.domain.actors import Actor

log = logging.getLogger(__name__)
Handler = Callable[[Update, Any], Coroutine[Any, Any, None]]
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


async def find_actor(services: Services, user_id: int) -> Actor | None:
    async with services.uow() as uow:
        return await uow.members.find_actor(platform="telegram", external_id=str(user_id))


def noted(services: Services) -> Handler:
    """Any private message from a linked partner member: they have started the bot, so their
    partner's offers may be copied to them (unless they switched it off)."""

    async def handler(update: Update, _context: Any) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        actor = await find_actor(services, user.id)
        if actor is not None:
            await services.run(
                note_private_chat, actor=actor, platform="telegram", chat_id=str(message.chat_id)
            )

    return handler


def can_post(member: ChatMember) -> bool:
    """Whether the bot, with this membership, can post in the chat."""
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and bool(member.can_send_messages)
    return member.status in PRESENT


def member_changed(services: Services) -> Handler:
    """The bot's own membership changed: gone from a chat marks it broken (as a failed send
    would), back in it clears the mark."""

    async def handler(update: Update, _context: Any) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat, by = change.chat, change.from_user
        chat_id, private = str(chat.id), chat.type == "private"
        if can_post(change.new_chat_member):
            back = await services.run(
                chat_back,
                platform="telegram",
                chat_id=chat_id,
                by=None if private else by.full_name,
            )
            actor = await find_actor(services, by.id) if private else None
            if actor is not None:  # started (or unblocked) by a linked member
                await services.run(
                    note_private_chat, actor=actor, platform="telegram", chat_id=chat_id
                )
            elif not back and not private:  # an operator looking for the id to put in the file
                log.info("the bot is in Telegram chat %s (%s)", chat.id, chat.title or chat.type)
            return
        if private:
            reason = "telegram: the bot was blocked by the user"
        else:
            how = "banned" if change.new_chat_member.status == ChatMember.BANNED else "removed"
            reason = f"telegram: the bot was {how} from the group by {by.full_name}"
        await services.run(chat_gone, platform="telegram", chat_id=chat_id, reason=reason)

    return handler
