"""Questions the bot asked by reply (Telegram ForceReply) and is waiting to have answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import telegram_questions as questions


@dataclass(frozen=True)
class Question:
    chat_id: str
    message_id: str
    value: str  # the button value the answer completes
    asked: str  # the user id of who was asked
    expires_at: datetime


class QuestionRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, question: Question, *, now: datetime) -> None:
        await self.conn.execute(
            questions.insert().values(
                chat_id=question.chat_id,
                message_id=question.message_id,
                value=question.value,
                asked=question.asked,
                asked_at=now,
                expires_at=question.expires_at,
            )
        )

    async def get(self, *, chat_id: str, message_id: str) -> Question | None:
        stmt = select(questions).where(
            questions.c.chat_id == chat_id, questions.c.message_id == message_id
        )
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            return None
        return Question(row.chat_id, row.message_id, row.value, row.asked, row.expires_at)

    async def remove(self, *, chat_id: str, message_id: str) -> bool:
        """Forget a question; True for the caller that removed it."""
        stmt = (
            delete(questions)
            .where(questions.c.chat_id == chat_id, questions.c.message_id == message_id)
            .returning(questions.c.chat_id)
        )
        return (await self.conn.execute(stmt)).scalar() is not None

    async def purge(self, *, expired_before: datetime) -> None:
        """Drop questions that ran out before then (kept a while to answer late replies)."""
        await self.conn.execute(delete(questions).where(questions.c.expires_at < expired_before))
