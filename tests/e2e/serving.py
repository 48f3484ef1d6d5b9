"""Run `leadbot serve` as a real process for end-to-end tests, and loopback servers in-process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiohttp import web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(cwd: Path, **env: str) -> tuple[subprocess.Popen[str], int]:
    """Start `python -m bot serve` with no chat platform; returns (process, port) once healthy."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    environ.update(LEADBOT_PORT=str(port), **env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a starting process, bounded by the deadline
    proc.kill()
    output, _ = proc.communicate(timeout=10)
    raise AssertionError(f"serve did not become healthy:\n{output}")


def stop(proc: subprocess.Popen[str], *, timeout: float = 20) -> str:
    """Ctrl-C, as an operator would; the output, and a clear failure if it does not stop."""
    proc.send_signal(signal.SIGINT)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate(timeout=10)
        raise AssertionError(f"serve did not stop within {timeout}s of SIGINT:\n{output}") from None
    return output


async def serve_app(app: Any) -> tuple[int, Callable[[], Awaitable[None]]]:
    """Serve an ASGI app with uvicorn on a free loopback port in this event loop, once it is
    listening; returns (port, stop)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 -- uvicorn exposes a flag, not an event
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
