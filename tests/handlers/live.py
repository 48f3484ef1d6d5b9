"""Leadbot served over real HTTP on loopback from its own event loop in a background thread, for
synchronous HTTP clients such as schemathesis (requests): `with LiveLeadbot(url) as live:`.

`live.run(coro)` runs a coroutine in the server's loop (the database belongs to that loop).
The server trusts `X-Forwarded-For` from loopback, as it would behind a reverse proxy, so a
test can speak for many client addresses (the public form allows five posts a minute each).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn

from bot.bootstrap import Services, build
from bot.config import Settings
from bot.handlers.http import create_app
from bot.sandbox.serving import free_port
from tests.factories import apply
from tests.fakes import RecordingMessenger

T = TypeVar("T")


class LiveLeadbot:
    def __init__(self, database_url: str, document: dict[str, Any], **settings: Any) -> None:
        self.settings = Settings(database_url=database_url, _env_file=None, **settings)  # type: ignore[call-arg]
        self.document = document
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = ""
        self.services: Services | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run `coro` in the server's event loop and return its result (bounded)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        messengers = {p: RecordingMessenger(p) for p in ("slack", "telegram")}
        self.services = build(self.settings, messengers=messengers)
        await apply(self.services, self.document)
        async with self.services.uow() as uow:
            self.key = await uow.apikeys.create(
                f"live-{uuid.uuid4().hex[:8]}", now=self.services.ctx.now()
            )
            await uow.commit()
        config = uvicorn.Config(
            create_app(self.services),
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:  # noqa: ASYNC110 -- uvicorn exposes a flag only
                if self._task.done():
                    raise OSError(f"cannot listen on {self.url}")
                await asyncio.sleep(0.01)

    async def _stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self.services is not None:
            await self.services.close()

    def __enter__(self) -> LiveLeadbot:
        self.thread.start()
        try:
            self.run(self._start())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
