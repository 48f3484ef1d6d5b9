"""429s from Slack: retried once by slack_sdk when the wait is short, else left to the outbox.

Why both: the outbox paces every channel (about 1/s, in the database), so a 429 is rare and
means someone else posted there too. Slack then says `Retry-After: 1`; waiting that out inside
the call keeps the card in its place in the channel's lane and costs a second. A longer wait
(a method's tier limit, 30 s and more) is not slept through inside a send: the error goes to
the outbox, which holds the whole channel in the database for that long (every instance sees
it), frees the lane, and sends the card once when the channel is free.
"""

from __future__ import annotations

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

LONGEST_IN_PLACE = 2.0  # seconds: a Retry-After up to this is waited out by the SDK, once


def retry_after(response: HttpResponse) -> float:
    """The response's Retry-After in seconds (1 when absent or unreadable, as Slack means)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return float(values[0])
            except ValueError:
                return 1.0
    return 1.0


class BriefRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry handler, once, only for a short Retry-After."""

    def __init__(self, longest: float = LONGEST_IN_PLACE) -> None:
        super().__init__(max_retry_count=1)
        self.longest = longest

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return retry_after(response) <= self.longest


def retry_handlers() -> list[AsyncRetryHandler]:
    """A connection that could not be opened is retried once (nothing was sent), plus the brief
    429 retry. Not slack_sdk's default, which also resends when a connection drops mid-request:
    the post may have arrived, and sending it again in place would show the card twice; the
    outbox's next try looks for it first instead (bot/outbox_sender.py)."""
    return [
        AsyncConnectionErrorRetryHandler(error_types=[ClientConnectorError]),
        BriefRateLimitRetry(),
    ]
