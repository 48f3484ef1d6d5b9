"""SANDBOX: a fake Telegram Bot API on loopback: the methods Leadbot calls, recorded, and
updates served through `getUpdates` the way Telegram serves them (offsets, long polls)."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Faults, Shapes
from bot.sandbox.serving import serve_aiohttp

BOT = {"id": 123456, "is_bot": True, "first_name": "Leadbot", "username": "leadbot_bot"}
SENDS = ("sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup")
POLLING_CONFLICT = {
    "ok": False,
    "error_code": 409,
    "description": "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
}
WEBHOOK_CONFLICT = {
    "ok": False,
    "error_code": 409,
    "description": "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
}


@dataclass
class FakeTelegram:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[str, dict[str, Any]] = field(default_factory=dict)  # chat id -> error answer
    conflicts: int = 0  # answer the next n getUpdates with 409 (another instance polling)
    max_wait: float = 5.0  # a long poll waits at most this long here, whatever it asks for
    webhook: str | None = None  # set by setWebhook; getUpdates is refused while it is
    faults: Faults = field(default_factory=Faults)  # outages: errors, hangs, 429s, refusals
    url: str = ""
    offset: int = 0  # the highest offset a getUpdates confirmed
    _queued: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10000))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _closing: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        shapes = Shapes(error=_server_error, rate_limited=_rate_limited)
        faulty = self.faults.middleware(shapes, lambda r: r.match_info.get("method", ""))
        app = web.Application(middlewares=[faulty])  # type: ignore[list-item]
        app.router.add_post("/bot{token}/{method}", self._api)
        self.url, self._runner = await serve_aiohttp(app)
        self.faults.attach(self._runner, self.url)

    async def stop(self) -> None:
        await self.faults.recover()  # requests held by a hang let go
        async with self._changed:
            self._closing = True  # long polls in flight return at once
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update = {**update, "update_id": next(self._update_ids)}
        async with self._changed:
            self._queued.append(update)
            self._changed.notify_all()
        return int(update["update_id"])

    async def handled(self, update_id: int) -> None:
        """Wait until a getUpdates confirmed `update_id` (the bot asked for the ones after it,
        which it does once it has handled it). Bound it with asyncio.timeout."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.offset > update_id)

    async def _get_updates(self, args: dict[str, Any]) -> web.Response:
        if self.conflicts > 0:
            self.conflicts -= 1
            return web.json_response(POLLING_CONFLICT, status=409)
        if self.webhook:
            return web.json_response(WEBHOOK_CONFLICT, status=409)
        offset, limit = int(args.get("offset") or 0), int(args.get("limit") or 100)
        wait = min(float(args.get("timeout") or 0), self.max_wait)
        async with self._changed:
            if offset > self.offset:  # everything before it is confirmed, and forgotten
                self.offset = offset
                self._queued = [u for u in self._queued if u["update_id"] >= offset]
                self._changed.notify_all()
            if not self._queued and wait > 0 and not self._closing:
                try:
                    async with asyncio.timeout(wait):
                        await self._changed.wait_for(lambda: bool(self._queued) or self._closing)
                except TimeoutError:
                    pass
            ready = [u for u in self._queued if u["update_id"] >= offset][:limit]
        return web.json_response({"ok": True, "result": ready})

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = dict(await request.json())
        else:
            args = {k: v for k, v in (await request.post()).items()}
        for key in ("reply_markup",):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        self.calls.append((method, args))
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT})
        if method == "getUpdates":
            return await self._get_updates(args)
        if method in ("setWebhook", "deleteWebhook"):
            self.webhook = str(args["url"]) if method == "setWebhook" else None
            return web.json_response({"ok": True, "result": True})
        chat = str(args.get("chat_id", ""))
        if chat in self.fail and method in SENDS:
            error = self.fail[chat]
            return web.json_response(error, status=int(error.get("error_code", 400)))
        if method in SENDS:
            message_id = int(args.get("message_id") or next(self._ids))
            args.setdefault("message_id", message_id)  # what the bot got back, for tests
            private = not chat.startswith("-")
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "message_id": message_id,
                        "from": BOT,
                        "chat": {"id": int(chat), "type": "private" if private else "supergroup"},
                        "date": 1700000000,
                        "text": str(args.get("text", "")),
                    },
                }
            )
        return web.json_response({"ok": True, "result": True})

    def called(self, method: str) -> list[dict[str, Any]]:
        return [a for m, a in self.calls if m == method]

    def sent_to(self, chat: int) -> list[dict[str, Any]]:
        return [a for a in self.called("sendMessage") if str(a["chat_id"]) == str(chat)]

    def latest_text(self, chat: int, message_id: int) -> str:
        edits = [
            a
            for a in self.called("editMessageText")
            if (str(a["chat_id"]), int(a["message_id"])) == (str(chat), message_id)
        ]
        return str((edits[-1] if edits else self.sent_to(chat)[0])["text"])


def _server_error() -> web.Response:
    body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    return web.json_response(body, status=500)


def _rate_limited(retry_after: int) -> web.Response:
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
    return web.json_response(body, status=429)


def keyboard(args: dict[str, Any]) -> dict[str, str]:
    """{label: callback data} of a sent or edited message."""
    markup = args.get("reply_markup") or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}
