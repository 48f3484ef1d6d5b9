"""Settings: every environment variable of design.md §6, read once into one typed object."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from the environment and `.env`; built once at start and passed down."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    database_url: str = "sqlite+aiosqlite:///./leadbot.db"
    leadbot_config: Path = Path("./leadbot.yaml")
    leadbot_host: str = "127.0.0.1"
    leadbot_port: int = 8000
    leadbot_sweep_interval: float = 15.0
    leadbot_log_level: str = "INFO"
    leadbot_api_rate: float = 20.0  # intake API requests per second per key, on average
    leadbot_api_burst: int = 100  # ... and in a burst
    leadbot_public_url: str | None = None  # where browsers and Slack reach this server

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_bot_username: str | None = None  # for t.me deep links in `leadbot members invite`

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
