"""SANDBOX: Slack's Socket Mode server side, on loopback: a WebSocket that says `hello`, sends
envelopes (`interactive`, `slash_commands`, `events_api`, each with an envelope_id) and
records the acknowledgements the app sends back."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

ACCEPTS_RESPONSE = {"interactive": True, "slash_commands": True, "events_api": False}


@dataclass
class SocketModeServer:
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id -> ack payload
    connections: int = 0  # connections opened so far
    _ws: web.WebSocketResponse | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/link/", self._connect)

    async def _connect(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-sandbox", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0LEADBOT"},
            }
        )
        async with self._changed:
            self._ws, self.connections = ws, self.connections + 1
            self._changed.notify_all()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "envelope_id" in data:
                async with self._changed:
                    self.acks[data["envelope_id"]] = data.get("payload") or {}
                    self._changed.notify_all()
        async with self._changed:
            if self._ws is ws:
                self._ws = None
            self._changed.notify_all()
        return ws

    async def connected(self) -> None:
        """Until an app is connected (bound it with asyncio.timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._ws is not None)

    async def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Send one envelope of `kind` to the connected app; returns its envelope_id."""
        await self.connected()
        envelope_id = f"env-{next(self._ids):04d}"
        assert self._ws is not None
        await self._ws.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": ACCEPTS_RESPONSE[kind],
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def ack(self, envelope_id: str) -> dict[str, Any]:
        """The app's acknowledgement of an envelope, once it came (bound it with a timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: envelope_id in self.acks)
        return self.acks[envelope_id]

    async def refresh(self) -> None:
        """Ask the app to reconnect, as Slack does every few hours (`disconnect` message)."""
        await self.connected()
        assert self._ws is not None
        await self._ws.send_json(
            {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "x"}}
        )

    async def reconnected(self, count: int) -> None:
        """Until `count` connections were opened and one is up (bound it with a timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.connections >= count and self._ws is not None)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
