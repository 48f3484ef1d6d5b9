"""Which secrets `leadbot serve` refuses as placeholders (naming the variable), and which it
takes: real-looking ones, and empty ones (unset: that part is off)."""

from __future__ import annotations

import secrets

import pytest

from bot.config import Settings
from bot.secret_checks import looks_like_placeholder, weak_secrets, weak_webhook_secrets

REAL = {
    "slack_bot_token": "xoxb-2481632641-1020304050607-Zq8RtY3uWv5XaB7cD9eF1gHi",
    "slack_app_token": "xapp-1-A0LEADBOT1-4815162342001-9f86d081884c7d659a2feaa0c55ad015",
    "slack_signing_secret": secrets.token_hex(16),
    "slack_client_secret": secrets.token_hex(16),
    "telegram_bot_token": "7315591852:AAHk3vQx9Rt2LmN8pWz4Yc7Bd1Fg6Js0Ke5",
    "telegram_webhook_secret": secrets.token_urlsafe(24),
}


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "value",
    ["changeme", "CHANGE_ME", "secret", "password", "test", "xoxb-your-token", "xoxb-...",
     "xoxb-test", "123456:TEST", "<your signing secret>", "your-bot-token-here", "xxxxxxxxxxxxxxxx",
     "0000000000000000", "replace-me-with-a-real-secret", "my-example-secret-1234", "xapp-", "  "],
)  # fmt: skip
def test_placeholders_are_recognised(value):
    assert looks_like_placeholder(value)


@pytest.mark.parametrize("value", list(REAL.values()))
def test_real_looking_values_are_not(value):
    assert not looks_like_placeholder(value)


def test_real_secrets_and_unset_ones_pass():
    assert weak_secrets(settings(**REAL)) == []
    assert weak_secrets(settings()) == []  # nothing configured: every platform off
    assert weak_secrets(settings(slack_signing_secret="")) == []  # empty counts as unset


def test_each_weak_secret_is_named_and_never_shown():
    weak = settings(
        **{**REAL, "slack_bot_token": "xoxb-your-token", "slack_signing_secret": "changeme",
           "telegram_webhook_secret": "tooshort-but-ok", "slack_client_secret": "s3cret"},
        database_url="postgresql+asyncpg://leadbot:secret@127.0.0.1:5432/leadbot",
    )  # fmt: skip
    problems = weak_secrets(weak)
    named = [p.split(" ")[0] for p in problems]
    assert named == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "TELEGRAM_WEBHOOK_SECRET",
        "SLACK_CLIENT_SECRET",
        "DATABASE_URL",
    ]
    assert "too short (15 characters)" in problems[2]
    assert not any(v in p for p in problems for v in ("changeme", "tooshort", "s3cret", ":secret"))


def test_webhook_secrets_are_checked_where_they_are_set():
    environ = {"CRM_SECRET": "changeme", "ERP_SECRET": secrets.token_hex(16), "SHORT": "abc123"}
    problems = weak_webhook_secrets(["CRM_SECRET", "ERP_SECRET", "SHORT", "UNSET"], environ)
    assert [p.split(" ")[0] for p in problems] == ["CRM_SECRET", "SHORT"]


def test_the_demo_runs_on_sandbox_tokens_that_serve_would_refuse(tmp_path):
    from bot.demo.run import sandbox_settings

    class Fake:
        url = "http://127.0.0.1:9"

    demo, _slack, _telegram = sandbox_settings(tmp_path / "d.db", Fake(), Fake(), 8000, 3.0)  # type: ignore[arg-type]
    assert "SLACK_BOT_TOKEN" in weak_secrets(demo)[0]  # `xoxb-sandbox`: the demo never checks
