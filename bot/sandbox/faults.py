"""SANDBOX: faults for the fake chat APIs, for a while, then recovery.

`await faults.start(Fault.ERROR)` makes the fake answer 500 (or hang, rate-limit, refuse
connections, or do the work and lose the answer) until `await faults.recover()`. Each fake
says how its platform shapes a 500 and a 429; the middleware applies the fault to the API
methods named in `methods` (every method when empty).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Fault(StrEnum):
    ERROR = "error"  # HTTP 500
    HANG = "hang"  # the request is never answered (until recovery, or `hang_for`)
    LOST_REPLY = "lost-reply"  # the platform does it, but its answer never arrives
    RATE_LIMIT = "rate-limit"  # 429 with Retry-After
    REFUSE = "refuse"  # nothing listens on the port: connections are refused


@dataclass
class Shapes:
    """How a platform answers a server error and a rate limit."""

    error: Callable[[], web.Response]
    rate_limited: Callable[[int], web.Response]


@dataclass
class Faults:
    mode: Fault | None = None
    retry_after: int = 30  # seconds, in a RATE_LIMIT answer
    hang_for: float = 120.0  # the longest a HANG or LOST_REPLY holds a request
    methods: frozenset[str] = frozenset()  # only these API methods; empty: all of them
    served: Counter[str] = field(default_factory=Counter)  # requests met with a fault, by mode
    _over: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _port: int = 0

    def attach(self, runner: web.AppRunner, url: str) -> None:
        """The fake's server, so REFUSE can stop listening and recovery listen again."""
        self._runner, self._port = runner, int(url.rsplit(":", 1)[1])

    async def start(
        self, mode: Fault, *, methods: tuple[str, ...] = (), retry_after: int = 30
    ) -> None:
        """Faults from now on, until `recover`."""
        self.mode, self.methods, self.retry_after = mode, frozenset(methods), retry_after
        self._over.clear()
        if mode is Fault.REFUSE and self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            server = self._runner.server
            for handler in list(server.connections if server is not None else []):
                if handler.transport is not None:  # open keep-alive connections drop too
                    handler.transport.abort()

    async def recover(self) -> None:
        """Back to normal; requests held by a hang are let go (their clients gave up)."""
        if self.mode is Fault.REFUSE and self._runner is not None:
            await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self.mode = None
        self._over.set()

    def middleware(self, shapes: Shapes, method_of: Callable[[web.Request], str]) -> object:
        @web.middleware
        async def faulty(request: web.Request, handler: Handler) -> web.StreamResponse:
            mode = self.mode
            if mode is None or (self.methods and method_of(request) not in self.methods):
                return await handler(request)
            self.served[mode] += 1
            if mode is Fault.ERROR:
                return shapes.error()
            if mode is Fault.RATE_LIMIT:
                return shapes.rate_limited(self.retry_after)
            if mode is Fault.REFUSE:  # a request on a connection opened before the fault
                if request.transport is not None:
                    request.transport.abort()
                return shapes.error()
            response = await handler(request) if mode is Fault.LOST_REPLY else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._over.wait(), self.hang_for)
            return response if response is not None else shapes.error()

        return faulty
