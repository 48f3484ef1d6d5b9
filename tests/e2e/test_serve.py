"""`leadbot serve` starts cleanly with no chat platform, migrates, applies config, serves health."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.e2e.serving import start_serve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leadbot.yaml"


def test_serve_starts_without_chat_platforms_and_reports_health(database_url, tmp_path):
    proc, port = start_serve(tmp_path, DATABASE_URL=database_url, LEADBOT_CONFIG=str(EXAMPLE))
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert health.status_code == 200
        assert health.json() == {
            "status": "ok",
            "database": "ok",
            "timers": "running",
            "chat": {"none": "no chat platform"},
        }
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=2).status_code == 200
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).json()
        assert {"/api/v1/leads", "/api/v1/leads/{public_id}"} <= set(schema["paths"])
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "Slack: off (SLACK_BOT_TOKEN not set)" in output
    assert "Telegram: off (TELEGRAM_BOT_TOKEN not set)" in output
    assert "applied" in output and "policy version 1" in output
