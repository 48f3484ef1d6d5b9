"""Questions asked by reply (Telegram ForceReply: an amount for Opportunity/Won, a reason),
kept in the database so any instance can take the answer, also after a restart."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from bot.dispatch.context import Context
from bot.store.questions import Question
from bot.store.uow import UnitOfWork

QUESTION_TTL = timedelta(hours=1)  # a reply later than this is answered "press again"
KEEP_EXPIRED = timedelta(days=7)  # ... for this long; after that it is forgotten


class Asked(StrEnum):
    NOTHING = "nothing"  # not one of our questions, or asked to someone else
    EXPIRED = "expired"
    OPEN = "open"


async def remember_question(
    uow: UnitOfWork, ctx: Context, *, chat_id: str, message_id: str, value: str, asked: str
) -> None:
    """The bot asked `asked` a question (message `message_id`) completing button `value`."""
    now = ctx.now()
    await uow.questions.purge(expired_before=now - KEEP_EXPIRED)
    question = Question(chat_id, message_id, value, asked, expires_at=now + QUESTION_TTL)
    await uow.questions.add(question, now=now)
    await uow.commit()


async def find_question(
    uow: UnitOfWork, ctx: Context, *, chat_id: str, message_id: str, user: str
) -> tuple[Asked, str]:
    """Whether a reply to `message_id` by `user` answers an open question, and its value."""
    question = await uow.questions.get(chat_id=chat_id, message_id=message_id)
    if question is None or question.asked != user:
        return Asked.NOTHING, ""
    if question.expires_at <= ctx.now():
        return Asked.EXPIRED, question.value
    return Asked.OPEN, question.value


async def forget_question(uow: UnitOfWork, ctx: Context, *, chat_id: str, message_id: str) -> None:
    """The question was answered."""
    await uow.questions.remove(chat_id=chat_id, message_id=message_id)
    await uow.commit()
