"""`leadbot serve` refuses to start with a placeholder secret, naming the variable, and exit
code 2 (run as a process, as an operator would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.factories import config, partner
from tests.unit.test_secret_checks import REAL


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`leadbot serve` as a process, expected to refuse at once (bounded)."""
    environ = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/l.db"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env={**environ, "LEADBOT_CONFIG": str(tmp_path / "leadbot.yaml"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_a_placeholder_secret_before_touching_anything(tmp_path):
    done = serve(tmp_path, SLACK_BOT_TOKEN=REAL["slack_bot_token"], SLACK_SIGNING_SECRET="changeme")
    assert done.returncode == 2, done.stderr
    assert "SLACK_SIGNING_SECRET looks like a placeholder" in done.stderr
    assert "refused to start: 1 problem(s)" in done.stderr
    assert not (tmp_path / "l.db").exists()  # not even migrated


def test_serve_refuses_a_weak_webhook_secret_named_in_leadbot_yaml(tmp_path):
    doc = config([partner("acme")])
    doc["webhooks"] = [
        {"url": "https://crm.example.com/h", "secret_env": "CRM_SECRET", "events": ["lead.created"]}
    ]
    (tmp_path / "leadbot.yaml").write_text(yaml.safe_dump(doc))
    done = serve(tmp_path, CRM_SECRET="short")
    assert done.returncode == 2, done.stderr
    assert "CRM_SECRET is too short (5 characters)" in done.stderr
    assert "(the secret of a webhook in leadbot.yaml)" in done.stderr
