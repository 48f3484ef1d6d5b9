"""The HTTP server: health now; the intake API and chat endpoints plug in here later."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.bootstrap import Services


def create_app(services: Services) -> FastAPI:
    """The FastAPI app for `leadbot serve` (OpenAPI at /docs)."""
    app = FastAPI(title="Leadbot", version="0.1.0")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Database reachable and which chat platforms are connected."""
        try:
            async with asyncio.timeout(3), services.uow() as uow:  # queues like any writer
                await uow.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:
            database = f"unreachable: {type(exc).__name__}"
        chat = {name: "configured" for name in services.messengers} or {"none": "no chat platform"}
        timers = "running" if services.scheduler.running else "stopped"
        ok = database == "ok" and timers == "running"
        return JSONResponse(
            {
                "status": "ok" if ok else "degraded",
                "database": database,
                "timers": timers,
                "chat": chat,
            },
            status_code=200 if ok else 503,
        )

    return app
