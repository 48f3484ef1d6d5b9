"""Run `leadbot serve` as a real process for end-to-end tests (in-process loopback servers are
in `bot.sandbox.serving`, re-exported here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.sandbox.serving import free_port, serve_aiohttp, serve_app

__all__ = ["free_port", "serve_aiohttp", "serve_app", "start_serve", "stop"]


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
