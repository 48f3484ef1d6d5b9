"""Loopback servers in this event loop: the sandbox's fake chat APIs and Leadbot's own app."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from aiohttp import web


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve_app(
    app: Any, *, port: int | None = None
) -> tuple[int, Callable[[], Awaitable[None]]]:
    """Serve an ASGI app with uvicorn on a loopback port (a free one unless given) in this
    event loop, once it is listening; returns (port, stop)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 -- uvicorn exposes a flag, not an event
            if task.done():  # uvicorn gave up (it exits when the port is taken)
                raise OSError(f"cannot listen on 127.0.0.1:{port}: is the port in use?")
            await asyncio.sleep(0.01)

    async def stop() -> None:
        server.should_exit = True
        await task

    return port, stop


async def serve_aiohttp(app: web.Application) -> tuple[str, web.AppRunner]:
    """Serve an aiohttp app on a free loopback port; returns (base url, runner to clean up)."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return f"http://127.0.0.1:{port}", runner
