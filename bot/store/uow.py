"""Unit of work: one transaction, its repositories, and effects that run only after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction
from sqlalchemy.sql import Executable

from bot.store.apikeys import ApiKeyRepo
from bot.store.chats import ChatRepo
from bot.store.config_repo import ConfigRepo
from bot.store.db import LONG, READ_ONLY, WriteLock, write_lock
from bot.store.events import EventRepo
from bot.store.geo import GeoRepo
from bot.store.installs import InstallRepo
from bot.store.leads import LeadRepo
from bot.store.members import MemberRepo
from bot.store.offers import OfferRepo
from bot.store.outbox import OutboxRepo
from bot.store.pacing import PacingRepo
from bot.store.partners import PartnerRepo
from bot.store.privacy import PrivacyRepo
from bot.store.questions import QuestionRepo
from bot.store.rounds import RoundRepo
from bot.store.webhook_outages import WebhookOutageRepo

log = logging.getLogger(__name__)

Effect = Callable[[], None]


class UnitOfWork:
    """`async with uow:` ... `await uow.commit()`; leaving without commit rolls back.

    `read_only`: a unit of work that only reads. On SQLite it then neither queues behind this
    process's writers nor takes the write lock (WAL gives it a consistent snapshot), so an
    answer that only reads never holds up a lead being routed.
    """

    leads: LeadRepo
    offers: OfferRepo
    partners: PartnerRepo
    events: EventRepo
    outbox: OutboxRepo
    config: ConfigRepo
    members: MemberRepo
    apikeys: ApiKeyRepo
    geo: GeoRepo
    pacing: PacingRepo
    installs: InstallRepo
    chats: ChatRepo
    questions: QuestionRepo
    privacy: PrivacyRepo
    webhook_outages: WebhookOutageRepo
    rounds: RoundRepo

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None
        self._effects: list[Effect] = []
        self._lock: WriteLock | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._lock = None if self._read_only else write_lock(self._engine)
        if self._lock is not None:
            await self._lock.acquire()
        try:
            self._conn = await self._engine.connect()
            if self._read_only:
                await self._conn.execution_options(**{READ_ONLY: True})
            self._tx = await self._conn.begin()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        conn = self._conn
        self.leads, self.offers, self.partners = LeadRepo(conn), OfferRepo(conn), PartnerRepo(conn)
        self.events, self.outbox, self.config = EventRepo(conn), OutboxRepo(conn), ConfigRepo(conn)
        self.members, self.apikeys, self.geo = MemberRepo(conn), ApiKeyRepo(conn), GeoRepo(conn)
        self.pacing, self.installs = PacingRepo(conn), InstallRepo(conn)
        self.chats, self.questions = ChatRepo(conn), QuestionRepo(conn)
        self.privacy, self.webhook_outages = PrivacyRepo(conn), WebhookOutageRepo(conn)
        self.rounds = RoundRepo(conn)
        self._effects = []
        return self

    @property
    def dialect(self) -> str:
        assert self._conn is not None
        return self._conn.dialect.name

    async def execute(
        self, statement: Executable, *, long: bool = False
    ) -> Result[*tuple[Any, ...]]:
        """Run a query (reports) inside this unit of work; `long` for one that may take a
        while over many rows (on SQLite it then runs off the event loop)."""
        assert self._conn is not None
        await self.events.flush()
        if long:
            statement = statement.execution_options(**{LONG: True})
        return await self._conn.execute(statement)

    def after_commit(self, effect: Effect) -> None:
        """Run `effect` once the transaction has committed (never if it rolls back)."""
        self._effects.append(effect)

    async def commit(self) -> None:
        assert self._tx is not None
        await self.events.flush()
        await self._tx.commit()
        effects, self._effects = self._effects, []
        for effect in effects:
            try:
                effect()
            except Exception:  # an effect is a hint (poke, timer); the DB already holds the truth
                log.exception("after-commit effect failed")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if self._tx.is_active:
                await self._tx.rollback()
        finally:
            try:
                await self._conn.close()
            finally:
                self._effects = []
                if self._lock is not None:
                    self._lock.release()
