"""The HTTP server: health now; the intake API and chat endpoints plug in here later."""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from bot.bootstrap import Services
from bot.domain.errors import NotConfigured
from bot.handlers import forms, intake
from bot.handlers.limits import BodyLimit
from bot.handlers.problems import named_errors
from bot.handlers.unavailable import DatabaseAway

if TYPE_CHECKING:
    from bot.handlers.telegram import TelegramWebhook


def create_app(services: Services) -> FastAPI:
    """The FastAPI app for `leadbot serve` (OpenAPI at /docs)."""
    app = FastAPI(title="Leadbot", version="0.1.0")
    app.include_router(intake.router(services))
    app.include_router(forms.router(services))
    if services.settings.telegram_enabled and "telegram" in services.messengers:
        from bot.handlers.telegram import TelegramWebhook
        from bot.handlers.telegram import telegram_updates as receive_telegram

        telegram = receive_telegram(services)  # webhook, or long polling: started with serve
        if isinstance(telegram, TelegramWebhook):
            _telegram_webhook(app, telegram)

    if services.settings.slack_enabled and "slack" in services.messengers:
        from bot.handlers.slack import mount

        mount(app, services)  # /slack/events, /slack/install, Socket Mode: as configured

    app.add_middleware(BodyLimit)
    app.add_middleware(DatabaseAway)  # 503 and Retry-After while the database is away

    @app.exception_handler(RequestValidationError)
    async def field_errors(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each bad field: `contact.email: value is not a valid email address`."""
        errors = named_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(NotConfigured)
    async def not_configured(_request: Request, exc: NotConfigured) -> JSONResponse:
        """503 until a leadbot.yaml is applied: nothing to route by, nothing stored."""
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Database reachable, timers running, each chat connection up (else 503)."""
        broken = webhooks_down = 0
        try:
            # only reads: on SQLite a long write (a funnel rollup) does not make it look down
            async with asyncio.timeout(3), services.uow(read_only=True) as uow:
                await uow.execute(text("SELECT 1"))
                broken = len(await uow.partners.list_broken())
                webhooks_down = await uow.webhook_outages.count()
            database = "ok"
        except Exception as exc:
            database = f"unreachable: {type(exc).__name__}"
        chat = {name: "sending only" for name in services.messengers}
        chats_up = True
        for name, state in services.chat_states.items():
            try:
                chat[name], up = await state()
            except Exception as exc:  # a broken probe is a state too, never a 500
                chat[name], up = f"unknown ({type(exc).__name__})", False
            chats_up = chats_up and up
        chat = chat or {"none": "no chat platform"}
        timers = "running" if services.scheduler.running else "stopped"
        ok = database == "ok" and timers == "running" and chats_up
        body: dict[str, object] = {
            "status": "ok" if ok else "degraded",
            "database": database,
            "timers": timers,
            "chat": chat,
        }
        if webhooks_down:  # reported, not fatal: the events wait in the outbox
            # a count only: webhook URLs often carry tokens, and /healthz is public
            body["webhooks"] = f"{webhooks_down} failing"
        if broken:  # reported, not fatal: the leads go to the other partners meanwhile
            body["broken_chats"] = broken  # which ones: told to the managers, in the chat
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: leads, offers by outcome, time to accept, intake to delivery,
        send errors, outbox depth (this instance's counters; the depth is the database's)."""
        async with services.uow(read_only=True) as uow:
            depth = await uow.outbox.count(status="pending")
        return Response(services.metrics.render(outbox_depth=depth), media_type=CONTENT_TYPE_LATEST)

    return app


def _telegram_webhook(app: FastAPI, webhook: TelegramWebhook) -> None:
    @app.post("/telegram/webhook", include_in_schema=False)
    async def telegram_updates(request: Request) -> Response:
        """Telegram's updates; only with the secret given to setWebhook (else 403)."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if webhook.secret is None or not hmac.compare_digest(
            (given or "").encode(), webhook.secret.encode()
        ):
            return JSONResponse({"detail": "wrong or missing secret token"}, status_code=403)
        try:
            update = await request.json()
        except ValueError:  # not Telegram: it always sends a JSON object
            update = None
        if not isinstance(update, dict):
            return JSONResponse({"detail": "the body is not a JSON object"}, status_code=400)
        await webhook.handle(update)
        return Response(status_code=200)
