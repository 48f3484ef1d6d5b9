"""Socket Mode (`SLACK_APP_TOKEN` set): Bolt's aiohttp Socket Mode client in this event loop,
so Slack's events, presses and commands arrive over a WebSocket; no public URL is needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)
CONNECT_GRACE = 30.0  # seconds a new connection may take before /healthz calls it down


class SocketMode:
    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.app, self._token = app, app_token
        self.handler: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._started = time.monotonic()

    async def start(self) -> None:
        """Connect in the background: start-up does not wait for Slack (the client keeps
        retrying, and reconnects on its own when Slack drops the connection)."""
        self._started = time.monotonic()
        self.handler = AsyncSocketModeHandler(self.app, self._token, web_client=self.app.client)
        self._connecting = asyncio.create_task(self._connect(), name="slack-socket-mode")

    async def _connect(self) -> None:
        assert self.handler is not None
        await self.handler.connect_async()
        log.info("Slack Socket Mode connected")

    async def state(self) -> tuple[str, bool]:
        """How the WebSocket stands, for /healthz: down once it has had time to connect."""
        client = self.handler.client if self.handler is not None else None
        if client is not None and await client.is_connected():
            return "socket mode: connected", True
        starting = time.monotonic() - self._started < CONNECT_GRACE
        return "socket mode: connecting", starting

    async def close(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self.handler is not None:
            await self.handler.close_async()
            self.handler = None
