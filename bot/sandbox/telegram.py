"""SANDBOX: a fake Telegram Bot API on loopback: the methods Leadbot calls, recorded."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.serving import serve_aiohttp

BOT = {"id": 123456, "is_bot": True, "first_name": "Leadbot", "username": "leadbot_bot"}


@dataclass
class FakeTelegram:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[str, dict[str, Any]] = field(default_factory=dict)  # chat id -> error answer
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        self.url, self._runner = await serve_aiohttp(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

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
        chat = str(args.get("chat_id", ""))
        if chat in self.fail and method == "sendMessage":
            error = self.fail[chat]
            return web.json_response(error, status=int(error.get("error_code", 400)))
        if method in ("sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup"):
            message_id = int(args.get("message_id") or next(self._ids))
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "message_id": message_id,
                        "from": BOT,
                        "chat": {"id": int(chat), "type": "supergroup", "title": "x"},
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


def keyboard(args: dict[str, Any]) -> dict[str, str]:
    """{label: callback data} of a sent or edited message."""
    markup = args.get("reply_markup") or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}
