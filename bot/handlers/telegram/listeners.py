"""Telegram handlers (python-telegram-bot `Application`): inline button presses, the replies a
press waits for, commands, and `/start CODE` deep links. Thin: find who it is, call the shared
press handler or command engine, answer.

A press is answered after its use case, not before: a refusal ("not for you", "already taken")
must come as an alert, and a callback query takes one answer only. The work is one short
transaction (chat sends happen after commit, through the outbox); one that outruns WORK_LIMIT
is answered "still working" and finishes on its own (it is never cut off mid-transaction).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.bootstrap import Services
from bot.command_grammar import VERBS
from bot.commands import CommandEngine
from bot.dispatch.chats import is_declared_chat
from bot.dispatch.direct_messages import note_private_chat
from bot.dispatch.linking import ChatIdentity
from bot.dispatch.questions import remember_question
from bot.domain.actors import Actor, Source
from bot.domain.offers import Outcome
from bot.handlers.presses import Ask, back, guarded, press
from bot.handlers.telegram.members import find_actor, member_changed, noted
from bot.handlers.telegram.menus import set_admin_menus
from bot.handlers.telegram.render import (
    BACK,
    CHOICE,
    SLOW,
    choices_keyboard,
    question_text,
    report_text,
)
from bot.handlers.telegram.replies import replied

log = logging.getLogger(__name__)
WORK_LIMIT = 8.0  # seconds: a press gets its answer well within Telegram's patience


async def _press(services: Services, user_id: int, value: str, choice: str) -> Outcome | Ask:
    """What the press does; `choice`: the n-th answer of the question the button asked."""
    actor = await find_actor(services, user_id)
    answer = None
    if choice:
        asked = await press(services, actor, value, source=Source.TELEGRAM)
        if not isinstance(asked, Ask):
            return asked
        if not (choice.isascii() and choice.isdigit() and int(choice) < len(asked.choices)):
            return asked  # not one of the choices (forged): ask again
        answer = asked.choices[int(choice)]
    return await press(services, actor, value, source=Source.TELEGRAM, answer=answer)


def register(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    engine = CommandEngine(services, source=Source.TELEGRAM)
    running: set[asyncio.Future[Outcome | Ask]] = set()  # presses that outran WORK_LIMIT

    def _finished(work: asyncio.Future[Outcome | Ask]) -> None:
        running.discard(work)
        if not work.cancelled() and work.exception() is not None:
            log.error("a slow Telegram press failed", exc_info=work.exception())

    async def pressed(update: Update, _context: Any) -> None:
        query = update.callback_query
        if query is None or query.from_user is None or query.message is None:
            return
        value, _, choice = (query.data or "").partition(CHOICE)
        if choice == BACK:  # the card gets its own buttons back
            refused = await back(services, await find_actor(services, query.from_user.id), value)
            await query.answer(refused.message[:200] if refused else None, show_alert=bool(refused))
            return
        work = asyncio.ensure_future(guarded(_press(services, query.from_user.id, value, choice)))
        try:
            async with asyncio.timeout(WORK_LIMIT):
                result = await asyncio.shield(work)  # never cut off inside its transaction
        except TimeoutError:
            log.warning("a Telegram press took over %.0f s: %s", WORK_LIMIT, value)
            running.add(work)
            work.add_done_callback(_finished)
            await query.answer(SLOW)  # the card shows the outcome when the work is done
            return
        if isinstance(result, Ask) and result.choices:
            await query.answer(result.label)
            await query.edit_message_reply_markup(reply_markup=choices_keyboard(result))
        elif isinstance(result, Ask):
            await query.answer()
            user = query.from_user
            prompt = await query.message.chat.send_message(
                question_text(result, user.id, user.first_name),
                parse_mode=ParseMode.HTML,
                reply_markup=ForceReply(selective=True),
            )
            await services.run(
                remember_question,
                chat_id=str(prompt.chat_id),
                message_id=str(prompt.message_id),
                value=result.value,
                asked=str(user.id),
            )
        elif not result.ok:
            await query.answer(result.message[:200], show_alert=True)
        else:
            await query.answer(result.message[:200])

    async def command(update: Update, context: Any) -> None:
        message = update.message
        if message is None or message.from_user is None or not message.text:
            return
        verb = message.text.split()[0].lstrip("/").split("@")[0].lower()
        words = list(context.args or [])
        private = message.chat.type == "private"
        if verb == "start":  # a deep link: /start CODE
            line = f"link {words[0]}" if words else "help"
        else:
            line = " ".join([verb, *words])
        actor = await find_actor(services, message.from_user.id)
        refusal = await _refusal(services, actor, verb, private, message.chat_id)
        if refusal:
            await message.reply_text(refusal)
            return
        identity = ChatIdentity("telegram", str(message.from_user.id))
        report = await engine.run(actor, line, identity=identity)
        await message.reply_text(report_text(report), parse_mode=ParseMode.HTML)
        if report.image_png:
            await message.reply_photo(report.image_png, caption=report.title[:1024])
        if verb in ("start", "link") and actor is None:  # linked now, perhaps
            linked = await find_actor(services, message.from_user.id)
            if linked is not None:
                await _just_linked(services, context.bot, linked, message, private=private)

    application.add_error_handler(_failed)
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, noted(services)), group=-1)
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(CommandHandler(["start", *VERBS], command))
    application.add_handler(
        MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, replied(services))
    )
    application.add_handler(
        ChatMemberHandler(member_changed(services), ChatMemberHandler.MY_CHAT_MEMBER)
    )


async def _just_linked(
    services: Services, bot: Any, linked: Actor, message: Any, *, private: bool
) -> None:
    """A chat account linked to its member now: lead DMs may come to this private chat, and
    a partner admin sees their own menu in the partner's groups now, not after a restart."""
    if private:
        await services.run(
            note_private_chat, actor=linked, platform="telegram", chat_id=str(message.chat_id)
        )
    try:
        await set_admin_menus(bot, services, user=str(message.from_user.id))
    except TelegramError as exc:  # a menu is a convenience: the link itself stands
        log.warning("telegram: setting %s's command menu failed: %r", linked.name, exc)


async def _failed(_update: object, context: Any) -> None:
    """Telegram refusing an answer (a chat that is not there...) is logged as what it is; a bug
    is logged with its traceback."""
    if isinstance(context.error, TelegramError):
        log.warning("telegram: answering an update failed: %r", context.error)
    else:
        log.error("a Telegram update failed", exc_info=context.error)


async def _refusal(
    services: Services, actor: Actor | None, verb: str, private: bool, chat_id: int
) -> str | None:
    """Commands answered elsewhere than where they were typed."""
    if verb == "dm" and not private:
        return "Send /dm to me in a private chat (tap my name, then Start)."
    if private or actor is None or verb in ("help", "start"):
        return None
    # a group reply is public: a manager is answered in the managers' group, a partner's people
    # in its own groups, so that no group sees the numbers of someone else
    if actor.is_manager:
        own, elsewhere = None, "Ask me in a private chat or in the managers' group."
    elif actor.partner_id is not None and verb != "link":
        own, elsewhere = actor.partner_id, "Ask me in your own group or in a private chat."
    else:
        return None
    here = await services.run(
        is_declared_chat, partner_id=own, platform="telegram", chat_id=str(chat_id)
    )
    return None if here else elsewhere
