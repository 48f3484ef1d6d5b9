"""SlackMessenger: offer cards, edits and notices through the Slack Web API (slack_sdk).

Each message goes out with the token of the destination's workspace: ours for chats declared
without a team (or in our own team), a partner's installation for chats in its workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.handlers.slack.blocks import notice_blocks, offer_blocks
from bot.handlers.slack.workspaces import Workspaces
from bot.messaging import DeliveryError, MessageRef, Notice, OfferCard, Pace, Target

log = logging.getLogger(__name__)

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


KEYED = "leadbot_outbox"  # the metadata event type of every card and notice Leadbot posts
HISTORY_SCOPES = (
    "Slack: cannot read channel history (%s): add the channels:history and groups:history "
    "scopes so that, after a post whose answer was lost, Leadbot checks whether the card "
    "arrived instead of posting it again"
)

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
        self._told_scope = False

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
        except (aiohttp.ClientError, TimeoutError) as exc:  # no answer: timed out, refused...
            raise DeliveryError(f"slack: {exc!r}"[:200], permanent=False, outage=True) from None
        except SlackApiError as exc:
            status = exc.response.status_code
            if status >= 500:
                raise DeliveryError(f"slack: HTTP {status}", permanent=False, outage=True) from None
            error = str(exc.response.get("error", "unknown_error"))
            if status == 429 or error == "ratelimited":
                retry = float(exc.response.headers.get("Retry-After", 1) or 1)
                raise DeliveryError(f"slack: {error}", permanent=False, retry_after=retry) from None
            if error in WORKSPACE_GONE:
                self.workspaces.forget(target.team)
                raise DeliveryError(f"slack: {error}", permanent=True, team_wide=True) from None
            raise DeliveryError(
                f"slack: {error}", permanent=False, gone=error in CHANNEL_GONE
            ) from None

    async def send_offer(
        self, target: Target, card: OfferCard, *, key: str | None = None
    ) -> MessageRef:
        """Post a card; `key` (the outbox item) goes in its metadata, for `find_sent`."""
        text, blocks = offer_blocks(card)
        answer = await self._call(
            self.client.chat_postMessage,
            target,
            channel=target.chat_id,
            text=text,
            blocks=blocks,
            **_keyed(key),
        )
        return MessageRef(str(answer["channel"]), str(answer["ts"]))

    async def find_sent(self, target: Target, key: str) -> MessageRef | None:
        """The message posted with `key`, if the channel has it: a post whose answer was lost
        (a timeout) may have arrived. Needs the history scopes; without them: None (posted
        again, and it may show twice)."""
        try:
            answer = await self._call(
                self.client.conversations_history,
                target,
                channel=target.chat_id,
                limit=100,
                include_all_metadata=True,
            )
        except DeliveryError as exc:
            if exc.outage or exc.retry_after is not None:
                raise  # cannot tell yet: this try fails, the next one looks again
            if not self._told_scope:
                self._told_scope = True
                log.warning(HISTORY_SCOPES, exc.reason)
            return None
        for message in answer.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == KEYED and str(payload.get("item")) == key:
                return MessageRef(target.chat_id, str(message["ts"]))
        return None

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

    async def send_notice(
        self, target: Target, notice: Notice, *, key: str | None = None
    ) -> MessageRef:
        text, blocks = notice_blocks(notice)
        answer = await self._call(
            self.client.chat_postMessage,
            target,
            channel=target.chat_id,
            text=text,
            blocks=blocks,
            **_keyed(key),
        )
        return MessageRef(str(answer["channel"]), str(answer["ts"]))


def _keyed(key: str | None) -> dict[str, Any]:
    """Message metadata naming the outbox item, so a lost answer can be looked up later."""
    if key is None:
        return {}
    return {"metadata": {"event_type": KEYED, "event_payload": {"item": key}}}
