"""TelegramMessenger: offer cards, edits and notices through the Bot API (python-telegram-bot)."""

from __future__ import annotations

import warnings
from collections.abc import Coroutine
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.handlers.telegram.render import keyboard, notice_text, offer_text
from bot.messaging import DeliveryError, MessageRef, Notice, OfferCard, Pace, Target

REFUSED = ("can't parse entities", "message to edit not found")  # retrying cannot help
GONE = ("chat not found", "bot was kicked", "bot is not a member", "group chat was deactivated")

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # lead text is not ours to preview


# Bot API: about one message a second per chat, 20 a minute per group, 30 a second in all
TELEGRAM_PACE = Pace(per_chat=1.05, per_group=3.05, overall=1 / 30)


class TelegramMessenger:
    platform = "telegram"

    def __init__(self, bot: Bot, *, pace: Pace = TELEGRAM_PACE) -> None:
        self.bot = bot
        self.pace = pace
        self._ready_done = False

    async def _call(self, call: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await self._when_ready(call)
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
                warnings.simplefilter("ignore")
                wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            raise DeliveryError(
                "telegram: flood control", permanent=False, retry_after=seconds
            ) from None
        except ChatMigrated as exc:  # a group became a supergroup: its id changed
            raise DeliveryError(
                f"telegram: the group moved to chat {exc.new_chat_id}; update telegram_chat",
                permanent=True,
                gone=True,
            ) from None
        except Forbidden as exc:  # blocked by the user, kicked from the group
            raise DeliveryError(f"telegram: {exc.message}", permanent=True, gone=True) from None
        except BadRequest as exc:
            if "message is not modified" in exc.message:
                return None  # the copy already shows this
            message = exc.message.lower()
            raise DeliveryError(
                f"telegram: {exc.message}",
                permanent=any(r in message for r in REFUSED),
                gone=any(g in message for g in GONE),
            ) from None
        except NetworkError as exc:  # no answer: timed out, refused, a 5xx
            raise DeliveryError(f"telegram: {exc}", permanent=False, outage=True) from None
        except TelegramError as exc:
            raise DeliveryError(f"telegram: {exc}", permanent=False) from None

    async def _when_ready(self, call: Coroutine[Any, Any, Any]) -> Any:
        """`call`, once the bot is initialized (inside `_call`, so getMe failing is an outage
        like any other)."""
        try:
            await self._ready()
        except BaseException:
            call.close()  # never sent
            raise
        return await call

    async def _ready(self) -> None:
        if not self._ready_done:  # getMe once; PTB refuses calls before it
            await self.bot.initialize()
            self._ready_done = True

    async def send_offer(self, target: Target, card: OfferCard) -> MessageRef:
        sent = await self._call(
            self.bot.send_message(
                chat_id=int(target.chat_id),
                text=offer_text(card),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,  # a link in a lead's text shows no preview
                reply_markup=keyboard(card.buttons),
            )
        )
        return MessageRef(str(sent.chat_id), str(sent.message_id))

    async def edit_offer(self, target: Target, ref: MessageRef, card: OfferCard) -> None:
        await self._call(
            self.bot.edit_message_text(
                chat_id=int(ref.chat_id),
                message_id=int(ref.message_id),
                text=offer_text(card),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,  # a link in a lead's text shows no preview
                reply_markup=keyboard(card.buttons),
            )
        )

    async def send_notice(self, target: Target, notice: Notice) -> MessageRef:
        sent = await self._call(
            self.bot.send_message(
                chat_id=int(target.chat_id),
                text=notice_text(notice),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=keyboard(notice.buttons),
            )
        )
        return MessageRef(str(sent.chat_id), str(sent.message_id))

    async def close(self) -> None:
        if self._ready_done:
            await self.bot.shutdown()
            self._ready_done = False
