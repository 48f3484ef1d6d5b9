"""Settings: every environment variable of design.md §6, read once into one typed object."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")  # the async drivers Leadbot ships with


class Settings(BaseSettings):
    """Read from the environment and `.env`; built once at start and passed down."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        use_attribute_docstrings=True,  # the docstrings below are docs/configuration.md
    )

    database_url: str = "sqlite+aiosqlite:///./leadbot.db"
    """SQLAlchemy async URL: `sqlite+aiosqlite:///…` (embedded default) or `postgresql+asyncpg://…`
    (production, several instances)."""
    leadbot_config: Path = Path("./leadbot.yaml")
    """The policy and partners file, applied at `leadbot serve` start and by `leadbot config
    apply`."""
    leadbot_host: str = "127.0.0.1"
    """Address the HTTP server (intake API, forms, Slack and Telegram endpoints, health, metrics)
    listens on."""
    leadbot_port: int = 8000
    """Port of the HTTP server."""
    leadbot_sweep_interval: float = 15.0
    """Seconds between database sweeps, which catch overdue offers, reminders, stranded leads,
    escalation repeats, stale leads and the digest (timers are only a latency hint)."""
    leadbot_log_level: str = "INFO"
    """Log level: DEBUG, INFO, WARNING or ERROR. DEBUG is Leadbot's own lines only: libraries
    stay at INFO or above, so no SQL parameters, request bodies or tokens are logged."""
    leadbot_api_rate: float = Field(20.0, gt=0, allow_inf_nan=False)
    """Intake API requests per second per API key, on average (429 with `Retry-After` past it);
    more than 0."""
    leadbot_api_burst: int = Field(100, ge=1)
    """Intake API requests per API key allowed in a burst above the average rate; at least 1."""
    leadbot_public_url: str | None = None
    """The address browsers and Slack reach this server at (`https://leads.example.com`): for
    `leadbot partners invite --slack` links and the OAuth redirect."""

    slack_bot_token: SecretStr | None = None
    """Slack bot token (`xoxb-…`) of the home workspace. Unset: Slack is off."""
    slack_signing_secret: SecretStr | None = None
    """Slack signing secret: HTTP mode at `POST /slack/events` (every request signature-checked)."""
    slack_app_token: SecretStr | None = None
    """Slack app-level token (`xapp-…`): set, Leadbot uses Socket Mode (no public URL needed)."""
    slack_api_url: str = "https://slack.com/api/"
    """Slack Web API base URL (tests and the demo point it at a local sandbox)."""
    slack_client_id: str | None = None
    """Slack app client id: with `SLACK_CLIENT_SECRET`, partners install the app in their own
    workspaces through `/slack/install`."""
    slack_client_secret: SecretStr | None = None
    """Slack app client secret, for multi-workspace installs."""

    telegram_bot_token: SecretStr | None = None
    """Telegram bot token from @BotFather. Unset: Telegram is off."""
    telegram_webhook_url: str | None = None
    """Public `https://…/telegram/webhook` address: set, webhook mode (several instances may run);
    unset, long polling (one instance per token)."""
    telegram_webhook_secret: SecretStr | None = None
    """Secret given to `setWebhook`; updates without it in `X-Telegram-Bot-Api-Secret-Token` get
    403."""
    telegram_api_url: str = "https://api.telegram.org/bot"
    """Telegram Bot API base URL (tests and the demo point it at a local sandbox)."""
    telegram_bot_username: str | None = None
    """The bot's @username, without the @: `leadbot members invite` then prints a `t.me` link to
    click."""

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def slack_oauth_enabled(self) -> bool:
        """Partners may install the app in their own workspaces (`/slack/install`)."""
        return bool(self.slack_enabled and self.slack_client_id and self.slack_client_secret)

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        # otherwise every command fails on first use with SQLAlchemy's traceback; the URL
        # itself is never repeated: it may hold the database's password
        try:
            driver = make_url(url).drivername
        except ArgumentError:
            driver = None
        if driver not in DRIVERS:
            said = f" (it names '{driver}')" if driver else " (it is not a URL)"
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/leadbot.db or"
                f" postgresql+asyncpg://user:password@host/database{said}"
            )
        return url
