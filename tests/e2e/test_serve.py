"""`leadbot serve` starts cleanly with no chat platform, migrates, applies config, serves health."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leadbot.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_without_chat_platforms_and_reports_health(database_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env.update(DATABASE_URL=database_url, LEADBOT_PORT=str(port), LEADBOT_CONFIG=str(EXAMPLE))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # polling a starting process, bounded by the deadline
        assert health is not None, "serve did not start listening"
        assert health.status_code == 200
        assert health.json() == {
            "status": "ok",
            "database": "ok",
            "chat": {"none": "no chat platform"},
        }
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=2).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "Slack: off (SLACK_BOT_TOKEN not set)" in output
    assert "Telegram: off (TELEGRAM_BOT_TOKEN not set)" in output
    assert "applied" in output and "policy version 1" in output
