"""Telegram handlers (python-telegram-bot `Application`): inline button presses, the replies a
press waits for, commands, and `/start CODE` deep links. Thin: find who it is, call the shared
press handler or command engine, answer.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.bootstrap import Services
from bot.commands import VERBS, CommandEngine
from bot.dispatch.linking import ChatIdentity
from bot.domain.actors import Actor, Source
from bot.handlers.presses import Ask, press, redraw
from bot.handlers.telegram.render import BACK, CHOICE, choices_keyboard, report_text

log = logging.getLogger(__name__)


async def find_actor(services: Services, user_id: int) -> Actor | None:
    async with services.uow() as uow:
        return await uow.members.find_actor(platform="telegram", external_id=str(user_id))


async def _managers_chat(services: Services, chat_id: int) -> bool:
    async with services.uow() as uow:
        chats = await uow.partners.list_destinations(partner_id=None)
    return any(d.platform == "telegram" and d.chat_id == str(chat_id) for d in chats)


def register(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    engine = CommandEngine(services, source=Source.TELEGRAM)
    # (chat, the bot's question message) -> (button value, who was asked)
    waiting: dict[tuple[int, int], tuple[str, int]] = {}

    async def pressed(update: Update, _context: Any) -> None:
        query = update.callback_query
        if query is None or query.from_user is None or query.message is None:
            return
        value, _, choice = (query.data or "").partition(CHOICE)
        actor = await find_actor(services, query.from_user.id)
        if choice == BACK:
            await query.answer()
            await redraw(services, value)  # the card gets its own buttons back
            return
        answer = None
        if choice:
            asked = await press(services, actor, value, source=Source.TELEGRAM)
            if (
                isinstance(asked, Ask)
                and choice.isascii()
                and choice.isdigit()
                and int(choice) < len(asked.choices)
            ):
                answer = asked.choices[int(choice)]
            elif not isinstance(asked, Ask):
                await query.answer(asked.message, show_alert=True)
                return
        result = await press(services, actor, value, source=Source.TELEGRAM, answer=answer)
        if isinstance(result, Ask) and result.choices:
            await query.answer(result.label)
            await query.edit_message_reply_markup(reply_markup=choices_keyboard(result))
        elif isinstance(result, Ask):
            await query.answer()
            prompt = await query.message.chat.send_message(
                f"{result.title}: {result.label}? Reply to this message with the amount.",
                reply_markup=ForceReply(selective=True),
            )
            waiting[(prompt.chat_id, prompt.message_id)] = (result.value, query.from_user.id)
        elif not result.ok:
            await query.answer(result.message[:200], show_alert=True)
        else:
            await query.answer(result.message[:200])

    async def replied(update: Update, _context: Any) -> None:
        message = update.message
        if message is None or message.reply_to_message is None or message.from_user is None:
            return
        key = (message.chat_id, message.reply_to_message.message_id)
        pending = waiting.get(key)
        if pending is None or pending[1] != message.from_user.id:
            return  # a reply to something else, or someone else answering
        actor = await find_actor(services, message.from_user.id)
        result = await press(
            services, actor, pending[0], source=Source.TELEGRAM, answer=message.text or ""
        )
        if isinstance(result, Ask):
            return
        if result.ok:
            waiting.pop(key, None)
        await message.reply_text(result.message)

    async def command(update: Update, context: Any) -> None:
        message = update.message
        if message is None or message.from_user is None or not message.text:
            return
        verb = message.text.split()[0].lstrip("/").split("@")[0].lower()
        words = list(context.args or [])
        if verb == "start":  # a deep link: /start CODE
            line = f"link {words[0]}" if words else "help"
        else:
            line = " ".join([verb, *words])
        actor = await find_actor(services, message.from_user.id)
        if (
            actor is not None
            and actor.is_manager
            and verb not in ("help", "start")
            and message.chat.type != "private"
            and not await _managers_chat(services, message.chat_id)
        ):  # a group reply is public: a partner's group must not see the others' numbers
            await message.reply_text("Ask me in a private chat or in the managers' group.")
            return
        identity = ChatIdentity("telegram", str(message.from_user.id))
        report = await engine.run(actor, line, identity=identity)
        await message.reply_text(report_text(report), parse_mode=ParseMode.HTML)
        if report.image_png:
            await message.reply_photo(report.image_png, caption=report.title[:1024])

    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(CommandHandler(["start", *VERBS], command))
    application.add_handler(
        MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, replied)
    )
