"""SlackMessenger: offer cards, edits and notices through the Slack Web API (slack_sdk).

Each message goes out with the token of the destination's workspace: ours for chats declared
without a team (or in our own team), a partner's installation for chats in its workspace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.handlers.slack.blocks import notice_blocks, offer_blocks
from bot.handlers.slack.workspaces import Workspaces
from bot.messaging import DeliveryError, MessageRef, Notice, OfferCard, Pace, Target

# errors that mean this channel is gone for Leadbot: it is marked broken, the offer moves on
CHANNEL_GONE = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}
)
# errors that mean the workspace's token is dead: every chat of that workspace is gone at once
WORKSPACE_GONE = frozenset(
    {
        "account_inactive",
        "token_revoked",
        "token_expired",
        "invalid_auth",
        "not_authed",
        "team_access_not_granted",
        "team_not_found",
    }
)
GONE = CHANNEL_GONE | WORKSPACE_GONE


# chat.postMessage: about one message a second per channel (a little slower, for margin)
SLACK_PACE = Pace(per_chat=1.05)


class SlackMessenger:
    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        pace: Pace = SLACK_PACE,
        workspaces: Workspaces | None = None,
    ) -> None:
        self.client = client
        self.pace = pace
        self.workspaces = workspaces or Workspaces(client, home_token=client.token or "")

    def connected(self) -> None:
        """One aiohttp session for every call (slack_sdk opens a new connection per call
        without one); made inside the running loop, on first use."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.client.timeout)
            )

    async def close(self) -> None:
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()

    async def _call(
        self, method: Callable[..., Awaitable[Any]], target: Target, **kwargs: Any
    ) -> Any:
        self.connected()
        bot = await self.workspaces.bot_for(target.team)
        if bot is None:
            raise DeliveryError(
                f"slack: the app is not installed in workspace {target.team}",
                permanent=True,
                team_wide=True,
            )
        try:
            return await method(token=bot.token, **kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            if exc.response.status_code == 429 or error == "ratelimited":
                retry = float(exc.response.headers.get("Retry-After", 1) or 1)
                raise DeliveryError(f"slack: {error}", permanent=False, retry_after=retry) from None
            if error in WORKSPACE_GONE:
                self.workspaces.forget(target.team)
                raise DeliveryError(f"slack: {error}", permanent=True, team_wide=True) from None
            raise DeliveryError(
                f"slack: {error}", permanent=False, gone=error in CHANNEL_GONE
            ) from None

    async def send_offer(self, target: Target, card: OfferCard) -> MessageRef:
        text, blocks = offer_blocks(card)
        answer = await self._call(
            self.client.chat_postMessage, target, channel=target.chat_id, text=text, blocks=blocks
        )
        return MessageRef(str(answer["channel"]), str(answer["ts"]))

    async def edit_offer(self, target: Target, ref: MessageRef, card: OfferCard) -> None:
        text, blocks = offer_blocks(card)
        await self._call(
            self.client.chat_update,
            target,
            channel=ref.chat_id,
            ts=ref.message_id,
            text=text,
            blocks=blocks,
        )

    async def send_notice(self, target: Target, notice: Notice) -> MessageRef:
        text, blocks = notice_blocks(notice)
        answer = await self._call(
            self.client.chat_postMessage, target, channel=target.chat_id, text=text, blocks=blocks
        )
        return MessageRef(str(answer["channel"]), str(answer["ts"]))
