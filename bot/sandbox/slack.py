"""SANDBOX: a fake Slack on loopback: the Web API methods Leadbot calls, recorded, plus response
URLs.

Requests to Leadbot's `/slack/events` are signed here the way Slack signs them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.serving import serve_aiohttp


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # what went to response_urls
    fail: dict[str, str] = field(default_factory=dict)  # channel -> error for chat.postMessage
    # Slack's per-channel limit on chat.postMessage: a post sooner than `gap` seconds after the
    # last one accepted in that channel gets 429 (Retry-After: 1)
    gap: float = 0.0
    posted: dict[str, list[float]] = field(default_factory=dict)  # channel -> accepted, monotonic
    limited: int = 0  # 429s answered
    url: str = ""
    _posted: asyncio.Event = field(default_factory=asyncio.Event)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_post("/upload", self._upload)
        self.url, self._runner = await serve_aiohttp(app)

    async def wait_posts(self, channel: str, count: int) -> None:
        """Until `count` posts were accepted in `channel` (bound it with asyncio.timeout)."""
        while len(self.posted.get(channel, [])) < count:
            self._posted.clear()
            await self._posted.wait()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)  # some methods send their arguments there
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update((await request.post()).items())
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.calls.append(Call(method, args))
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": "T1DC2JH3J", "user_id": "U0BOT", "bot_id": "B0LEADBOT"}
            )
        if method == "chat.postMessage":
            channel = str(args.get("channel"))
            if channel in self.fail:
                return web.json_response({"ok": False, "error": self.fail[channel]})
            now, times = time.monotonic(), self.posted.setdefault(channel, [])
            if self.gap and times and now - times[-1] < self.gap:
                self.limited += 1
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            times.append(now)
            self._posted.set()
            return web.json_response(
                {"ok": True, "channel": channel, "ts": f"1700000000.{next(self._ts):06d}"}
            )
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": args["channel"], "ts": args["ts"]})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": f"D{args.get('users')}"}})
        if method == "views.open":
            return web.json_response({"ok": True, "view": {"id": "V0ASK"}})
        if method == "files.getUploadURLExternal":
            return web.json_response(
                {"ok": True, "upload_url": f"{self.url}/upload", "file_id": "F0CHART"}
            )
        if method == "files.completeUploadExternal":
            return web.json_response({"ok": True, "files": [{"id": "F0CHART"}]})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.calls.append(Call("upload", {"bytes": len(await request.read())}))
        return web.Response(text="OK - 1")

    # --- what the bot did ------------------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [a for a in self.called("chat.postMessage") if a.get("channel") == channel]

    def latest(self, channel: str, ts: str) -> dict[str, Any]:
        """The message as it stands: the post, or its last update."""
        updates = [
            a for a in self.called("chat.update") if (a["channel"], a["ts"]) == (channel, ts)
        ]
        return updates[-1] if updates else self.posts_to(channel)[-1]


def blocks_text(message: dict[str, Any]) -> str:
    blocks = message.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks or [])


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """{label: value} of the message's buttons."""
    blocks = message.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {
        e["text"]["text"]: e["value"]
        for b in blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def form(payload: dict[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(payload)})
