"""Settings: every variable documented in .env.example, empty values mean 'off'."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", text, flags=re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= documented


def test_defaults_and_empty_values(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=\nTELEGRAM_BOT_TOKEN=123:abc\nLEADBOT_PORT=9000\n"
    )
    s = Settings()
    assert s.database_url == "sqlite+aiosqlite:///./leadbot.db"
    assert not s.slack_enabled and s.telegram_enabled and s.leadbot_port == 9000
    assert "123:abc" not in repr(s)  # tokens never end up in logs


def test_rate_limiter_refills_over_time():
    from bot.handlers.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(rate=2, burst=2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == 0.5  # one token comes back every half second
    assert limiter.take("other") == 0.0  # buckets are per key
    now[0] += 0.5
    assert limiter.take("k") == 0.0


@pytest.mark.parametrize(
    "variable,value",
    [("LEADBOT_API_RATE", "0"), ("LEADBOT_API_RATE", "nan"), ("LEADBOT_API_BURST", "0")],
)
def test_a_rate_limit_that_cannot_work_is_refused_at_start(monkeypatch, tmp_path, variable, value):
    """A rate of 0 divided by zero at the first request; a burst of 0 refused every request."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert [e["loc"] for e in caught.value.errors()] == [(variable.lower(),)]
