"""Replies to the questions the bot asked by ForceReply (an amount, a reason). The questions
are in the database with an expiry, so any instance takes the reply, also after a restart."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.bootstrap import Services
from bot.dispatch.questions import Asked, find_question, forget_question
from bot.domain.actors import Source
from bot.handlers.presses import Ask, press
from bot.handlers.telegram.members import Handler, find_actor
from bot.handlers.telegram.render import EXPIRED


def replied(services: Services) -> Handler:
    async def handler(update: Update, _context: Any) -> None:
        message = update.message
        if message is None or message.reply_to_message is None or message.from_user is None:
            return
        chat_id, asked = str(message.chat_id), str(message.reply_to_message.message_id)
        state, value = await services.run(
            find_question, chat_id=chat_id, message_id=asked, user=str(message.from_user.id)
        )
        if state is Asked.NOTHING:
            return  # a reply to something else, or someone else answering
        if state is Asked.EXPIRED:
            await message.reply_text(EXPIRED)
            return
        actor = await find_actor(services, message.from_user.id)
        result = await press(
            services, actor, value, source=Source.TELEGRAM, answer=message.text or ""
        )
        if isinstance(result, Ask):
            return
        if result.ok:
            await services.run(forget_question, chat_id=chat_id, message_id=asked)
        await message.reply_text(result.message)

    return handler
