"""/healthz: 200 only while the database answers, the timers run and every chat connection
that should receive does; otherwise 503, saying which part is down."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from bot.handlers.http import create_app


async def test_a_chat_connection_that_cannot_receive_makes_healthz_answer_503(services):
    await services.start()
    state = ("polling", True)

    async def telegram() -> tuple[str, bool]:
        return state

    services.chat_states["telegram"] = telegram
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
        up = await client.get("/healthz")
        assert up.status_code == 200 and up.json()["chat"]["telegram"] == "polling"
        state = ("polling: another instance is polling this token (409)", False)
        down = await client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["status"] == "degraded" and "409" in down.json()["chat"]["telegram"]


async def test_a_long_write_does_not_make_the_database_look_down(services):
    """/healthz and /metrics only read: on SQLite they do not queue behind a writer (a funnel
    rollup, an import) holding the write lock, which once made /healthz answer 503 after 3 s."""
    await services.start()
    transport = httpx.ASGITransport(app=create_app(services))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client,
        services.uow() as writer,
    ):
        await writer.execute(select(1))  # the write lock is held until this block ends
        async with asyncio.timeout(2):
            health = await client.get("/healthz")
            metrics = await client.get("/metrics")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert metrics.status_code == 200 and "leadbot_outbox_depth" in metrics.text
