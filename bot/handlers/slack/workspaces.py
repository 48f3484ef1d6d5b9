"""Which bot token speaks for which Slack workspace.

Our own workspace (the "home" workspace) uses `SLACK_BOT_TOKEN`; its team id is learned from
`auth.test`. A partner that installed the app in its own workspace has its installation in the
database (`slack_installations`), read through `DbInstallationStore` and kept here briefly.
Chats declared without a team in leadbot.yaml are in the home workspace.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot as SdkBot
from slack_sdk.oauth.installation_store import Installation as SdkInstallation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.installs import Installation
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)
CACHE_SECONDS = 30.0  # another instance's install or uninstall is seen within this


@dataclass(frozen=True)
class Bot:
    team_id: str
    token: str = field(repr=False)
    bot_id: str | None = None
    bot_user_id: str | None = None


class DbInstallationStore(AsyncInstallationStore):
    """slack_sdk's installation store interface over our `slack_installations` table. Saving
    is done by the install flow (`record_install`), which knows the partner invited."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._uow = uow_factory

    async def _get(self, team_id: str | None) -> Installation | None:
        if not team_id:
            return None
        async with self._uow() as uow:
            return await uow.installs.get(team_id)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> SdkBot | None:
        found = await self._get(team_id)
        if found is None:
            return None
        return SdkBot(
            app_id=found.app_id,
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team_name=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id or "",
            bot_user_id=found.bot_user_id or "",
            bot_scopes=found.bot_scopes or "",
            installed_at=found.installed_at or 0.0,
        )

    async def async_find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> SdkInstallation | None:
        found = await self._get(team_id)
        if found is None:
            return None
        return SdkInstallation(
            app_id=found.app_id,
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team_name=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            bot_scopes=found.bot_scopes or "",
            user_id=found.installer_user_id or "",
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> None:
        if team_id:
            async with self._uow() as uow:
                await uow.installs.delete(team_id)
                await uow.commit()

    async def async_delete_bot(
        self, *, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class Workspaces:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        home_token: str,
        store: AsyncInstallationStore | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self._home_token = home_token
        self._home: Bot | None = None
        self._home_lock = asyncio.Lock()
        self._cache: dict[str, tuple[float, Bot | None]] = {}

    async def home(self) -> Bot | None:
        """Our own workspace's bot (auth.test, once it has answered); None while unknown."""
        if self._home is not None:
            return self._home
        async with self._home_lock:
            if self._home is None:
                try:
                    answer = await self.client.auth_test(token=self._home_token)
                except (TimeoutError, SlackApiError, OSError) as exc:
                    log.warning("slack auth.test for our own workspace failed: %r", exc)
                    return None
                self._home = Bot(
                    team_id=str(answer.get("team_id") or ""),
                    token=self._home_token,
                    bot_id=answer.get("bot_id"),
                    bot_user_id=answer.get("user_id"),
                )
        return self._home

    async def is_home(self, team: str) -> bool:
        """Whether `team` is our own workspace ('' always is)."""
        if not team:
            return True
        home = await self.home()
        return home is not None and home.team_id == team

    def is_home_token(self, token: str) -> bool:
        return bool(token) and secrets.compare_digest(token, self._home_token)

    async def bot_for(self, team: str, *, fresh: bool = False) -> Bot | None:
        """The bot that speaks in `team`; None if the app is not installed there. Only found
        installations are cached (`fresh`: ask the store anyway): another instance may have
        stored one a moment ago, and a cached "not installed" would break that workspace."""
        if await self.is_home(team):
            return self._home or Bot(team_id=team, token=self._home_token)
        if self.store is None:
            return None
        cached = self._cache.get(team)
        if not fresh and cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        found = await self.store.async_find_bot(enterprise_id=None, team_id=team)
        bot = (
            Bot(team, found.bot_token, found.bot_id, found.bot_user_id)
            if found is not None and found.bot_token
            else None
        )
        if bot is not None:
            self._cache[team] = (time.monotonic(), bot)
        else:
            self._cache.pop(team, None)
        return bot

    def forget(self, team: str) -> None:
        """Drop what is known of `team`'s bot (installed again, uninstalled, token dead)."""
        self._cache.pop(team, None)
