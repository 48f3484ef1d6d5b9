"""While the database cannot be reached, every request gets a clear answer instead of a 500:
the intake API and /metrics 503 with Retry-After, /healthz 503 naming it, a press in Slack or
Telegram "press again in a minute". Once it is back, the client's retry stores the lead once.

The database is taken away by pointing the HTTP side at a port where nothing listens (the
restart of a real PostgreSQL under load is tests/e2e/test_database_restart.py, opt-in)."""

from __future__ import annotations

import asyncio

from sqlalchemy import exc as sa
from sqlalchemy import select

from bot.handlers.presses import DATABASE_AWAY
from bot.store.db import create_engine
from bot.store.outage import database_unavailable
from bot.store.tables import offers
from tests.factories import SRC, SYSTEM, lead
from tests.handlers.two_chats import SLACK_CHATS, TELEGRAM_CHATS, drain, two_chats

NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:1/leadbot"  # connection refused
LEAD = {"source": "web", "external_id": "w-1", "country": "DE", "postcode": "80331"}


async def test_requests_while_the_database_is_away_get_503_then_the_retry_stores_once(
    database_url, clock
):
    async with two_chats(database_url, clock) as chats:
        services, client = chats.services, chats.client
        async with services.uow() as uow:
            key = await uow.apikeys.create("web", now=clock.now())
            await uow.commit()
        headers = {"Authorization": f"Bearer {key}"}
        engine, services.engine = services.engine, create_engine(NOWHERE)
        try:
            answer = await client.post("/api/v1/leads", json=LEAD, headers=headers)
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
            assert "the database is unavailable right now" in answer.json()["detail"]
            health = await client.get("/healthz")
            assert health.status_code == 503
            assert health.json()["database"] == "unreachable: ConnectionRefusedError"
            assert (await client.get("/metrics")).status_code == 503
        finally:
            await services.engine.dispose()
            services.engine = engine
        assert (await client.post("/api/v1/leads", json=LEAD, headers=headers)).status_code == 201
        assert (await client.post("/api/v1/leads", json=LEAD, headers=headers)).status_code == 200
        assert (await client.get("/healthz")).json()["database"] == "ok"  # (no timers here)


async def test_a_press_while_the_database_is_away_is_told_to_press_again(database_url, clock):
    async with two_chats(database_url, clock) as chats:
        services = chats.services
        for i in range(4):  # one card in each of the four partners' chats
            await services.submit_lead(lead(f"p-{i}"), actor=SYSTEM, source=SRC)
        await drain(services)
        (slack_chat, slack_user), (tg_chat, tg_user) = (
            next(iter(SLACK_CHATS.values())),
            next(iter(TELEGRAM_CHATS.values())),
        )
        card = chats.slack.history[slack_chat][0]
        tg_card = chats.telegram.sent_to(tg_chat)[0]
        engine, services.engine = services.engine, create_engine(NOWHERE)
        try:
            await chats.slack_hand().press(
                slack_user, "Rep", value=_accept(card), label="Accept", channel=slack_chat,
                ts=card["ts"],
            )  # fmt: skip
            data = tg_card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            await chats.telegram_hand().press(
                tg_user, "Rep", data=data, chat=str(tg_chat), message_id=str(tg_card["message_id"])
            )
            async with asyncio.timeout(10):  # Slack's answer comes after the acknowledgement
                while not chats.slack.responses:  # noqa: ASYNC110 -- recorded by the fake
                    await asyncio.sleep(0.01)
        finally:
            await services.engine.dispose()
            services.engine = engine
        assert chats.slack.responses[-1]["text"] == DATABASE_AWAY.message
        (alert,) = [a for a in chats.telegram.called("answerCallbackQuery") if a.get("show_alert")]
        assert alert["text"] == DATABASE_AWAY.message[:200]
        async with services.uow() as uow:  # nothing changed
            assert set((await uow.execute(select(offers.c.status))).scalars()) == {"pending"}


def _accept(message) -> str:  # type: ignore[no-untyped-def]
    from bot.sandbox.slack import buttons

    return buttons(message)["Accept"]


def test_what_counts_as_the_database_being_away():
    refused = ConnectionRefusedError(111, "Connect call failed")
    assert database_unavailable(refused)
    assert database_unavailable(sa.TimeoutError("QueuePool limit reached"))
    wrapped = sa.DBAPIError("SELECT 1", {}, Exception("terminating connection"))
    wrapped.connection_invalidated = True
    assert database_unavailable(wrapped)

    class ShuttingDown(Exception):
        sqlstate = "57P03"  # cannot_connect_now: asyncpg's, during a restart

    assert database_unavailable(sa.DBAPIError("SELECT 1", {}, ShuttingDown()))
    import sqlite3

    locked = sa.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert database_unavailable(locked)
    missing = sa.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert not database_unavailable(missing)  # a broken install is a bug, not an outage
    assert not database_unavailable(sa.IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not database_unavailable(ValueError("a bug"))
