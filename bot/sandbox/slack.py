"""SANDBOX: a fake Slack on loopback: the Web API methods Leadbot calls, recorded, plus
response URLs and a Socket Mode WebSocket.

Requests to Leadbot's `/slack/events` are signed here the way Slack signs them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Faults, Shapes
from bot.sandbox.serving import serve_aiohttp
from bot.sandbox.slack_socket import SocketModeServer

HOME = "T1DC2JH3J"  # the workspace of every token not named in FakeSlack.tokens


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str = ""  # the bearer token the call was made with


@dataclass
class Install:
    """What `oauth.v2.access` answers for one code: a workspace and its new bot token."""

    team_id: str
    team_name: str
    token: str
    bot_user_id: str = "U0BOTP"


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # what went to response_urls
    fail: dict[str, str] = field(default_factory=dict)  # channel -> error for chat.postMessage
    # Slack's per-channel limit on chat.postMessage: a post sooner than `gap` seconds after the
    # last one accepted in that channel gets 429 (Retry-After: 1)
    gap: float = 0.0
    throttle: dict[str, list[str]] = field(default_factory=dict)  # channel -> next Retry-Afters
    posted: dict[str, list[float]] = field(default_factory=dict)  # channel -> accepted, monotonic
    limited: int = 0  # 429s answered
    tokens: dict[str, str] = field(default_factory=dict)  # bot token -> its workspace
    revoked: set[str] = field(default_factory=set)  # tokens answered with token_revoked
    user_teams: dict[str, str] = field(default_factory=dict)  # user -> workspace (users.info)
    installs: dict[str, Install] = field(default_factory=dict)  # OAuth code -> what it installs
    client: tuple[str, str] = ("1111.2222", "client-secret")  # the app's OAuth credentials
    socket: SocketModeServer = field(default_factory=SocketModeServer)
    faults: Faults = field(default_factory=Faults)  # outages: errors, hangs, 429s, refusals
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> posts
    history_scope: bool = True  # False: conversations.history answers missing_scope
    url: str = ""
    _posted: asyncio.Event = field(default_factory=asyncio.Event)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        shapes = Shapes(error=_server_error, rate_limited=_rate_limited)
        faulty = self.faults.middleware(shapes, lambda r: r.match_info.get("method", ""))
        app = web.Application(middlewares=[faulty])  # type: ignore[list-item]
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info and a few others: GET
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_post("/upload", self._upload)
        self.socket.add_routes(app)
        self.url, self._runner = await serve_aiohttp(app)
        self.faults.attach(self._runner, self.url)

    async def wait_posts(self, channel: str, count: int) -> None:
        """Until `count` posts were accepted in `channel` (bound it with asyncio.timeout)."""
        while len(self.posted.get(channel, [])) < count:
            self._posted.clear()
            await self._posted.wait()

    async def stop(self) -> None:
        await self.faults.recover()  # requests held by a hang let go
        await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)  # some methods send their arguments there
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update((await request.post()).items())
        return args

    def team_of(self, token: str) -> str:
        return self.tokens.get(token, HOME)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        token = token or str(args.pop("token", ""))
        self.calls.append(Call(method, args, token))
        if method == "oauth.v2.access":
            return self._oauth_access(auth, args)
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return web.json_response({"ok": False, "error": "invalid_auth"})
            ws = self.url.replace("http://", "ws://")
            return web.json_response({"ok": True, "url": f"{ws}/link/?ticket=sandbox"})
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token in self.revoked:
            return web.json_response({"ok": False, "error": "token_revoked"})
        return self._method(method, args, token)

    def _oauth_access(self, auth: str, args: dict[str, Any]) -> web.Response:
        given = base64.b64decode(auth.removeprefix("Basic ")).decode() if auth else ""
        if given != ":".join(self.client):
            return web.json_response({"ok": False, "error": "invalid_client_id"})
        found = self.installs.pop(str(args.get("code")), None)  # a code works once
        if found is None:
            return web.json_response({"ok": False, "error": "invalid_code"})
        self.tokens[found.token] = found.team_id
        return web.json_response(
            {
                "ok": True,
                "app_id": "A0LEADBOT",
                "authed_user": {"id": "U0INSTALLER"},
                "scope": "chat:write,commands,files:write,im:write,users:read",
                "token_type": "bot",
                "access_token": found.token,
                "bot_user_id": found.bot_user_id,
                "team": {"id": found.team_id, "name": found.team_name},
                "enterprise": None,
                "is_enterprise_install": False,
            }
        )

    def _method(self, method: str, args: dict[str, Any], token: str) -> web.Response:
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "team_id": self.team_of(token),
                    "user_id": "U0BOT",
                    "bot_id": "B0LEADBOT",
                }
            )
        if method == "auth.revoke":
            self.revoked.add(token)
            return web.json_response({"ok": True, "revoked": True})
        if method == "chat.postMessage":
            return self._post(args)
        if method == "conversations.history":
            return self._history(args)
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": args["channel"], "ts": args["ts"]})
        if method == "users.info":
            user = str(args.get("user"))
            return web.json_response(
                {"ok": True, "user": {"id": user, "team_id": self.user_teams.get(user, HOME)}}
            )
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": f"D{args.get('users')}"}})
        if method in ("views.open", "views.publish"):
            return web.json_response({"ok": True, "view": {"id": "V0ASK"}})
        if method == "files.getUploadURLExternal":
            return web.json_response(
                {"ok": True, "upload_url": f"{self.url}/upload", "file_id": "F0CHART"}
            )
        if method == "files.completeUploadExternal":
            return web.json_response({"ok": True, "files": [{"id": "F0CHART"}]})
        return web.json_response({"ok": False, "error": "unknown_method"})

    def _post(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel"))
        if channel in self.fail:
            return web.json_response({"ok": False, "error": self.fail[channel]})
        now, times = time.monotonic(), self.posted.setdefault(channel, [])
        waits = self.throttle.get(channel)
        if waits or (self.gap and times and now - times[-1] < self.gap):
            self.limited += 1
            wait = waits.pop(0) if waits else "1"
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": wait}
            )
        times.append(now)
        self._posted.set()
        ts = f"1700000000.{next(self._ts):06d}"
        meta = args.get("metadata")
        message = {"type": "message", "ts": ts, "text": str(args.get("text", ""))}
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        if meta:
            message["metadata"] = json.loads(meta) if isinstance(meta, str) else meta
        self.history.setdefault(channel, []).append(message)
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    def _history(self, args: dict[str, Any]) -> web.Response:
        """The channel's latest messages, newest first (with metadata when asked for)."""
        if not self.history_scope:
            return web.json_response(
                {"ok": False, "error": "missing_scope", "needed": "channels:history"}
            )
        limit = int(args.get("limit") or 100)
        messages = list(reversed(self.history.get(str(args.get("channel")), [])))[:limit]
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
        return web.json_response({"ok": True, "messages": messages, "has_more": False})

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.calls.append(Call("upload", {"bytes": len(await request.read())}))
        return web.Response(text="OK - 1")

    # --- what the bot did ------------------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def tokens_used(self, method: str, channel: str) -> list[str]:
        """The tokens `method` was called with for `channel`, in order."""
        return [
            c.token for c in self.calls if c.method == method and c.args.get("channel") == channel
        ]

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [a for a in self.called("chat.postMessage") if a.get("channel") == channel]

    def latest(self, channel: str, ts: str) -> dict[str, Any]:
        """The message as it stands: the post, or its last update."""
        updates = [
            a for a in self.called("chat.update") if (a["channel"], a["ts"]) == (channel, ts)
        ]
        return updates[-1] if updates else self.posts_to(channel)[-1]


def _server_error() -> web.Response:
    return web.Response(status=500, text="<html><body>Internal Server Error</body></html>",
                        content_type="text/html")  # fmt: skip


def _rate_limited(retry_after: int) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
    )


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
