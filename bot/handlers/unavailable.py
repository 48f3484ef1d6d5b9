"""503 while the database is away: a clear answer and a Retry-After instead of a 500 and a trace.

A request that fails because the database is down or restarting (see `bot.store.outage`) gets
`503 {"detail": …}`; the client retries (intake is idempotent on `external_id` and on the
`Idempotency-Key` header, so a retry never makes a second lead). Anything else still fails as
the bug it is.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi.responses import JSONResponse

from bot.store.outage import database_unavailable

log = logging.getLogger(__name__)
RETRY_AFTER = 5  # seconds: a restart of PostgreSQL takes a few
DETAIL = (
    "the database is unavailable right now; retry in a few seconds "
    "(a retry with the same external_id or Idempotency-Key is safe)"
)
SAY_EVERY = 10.0  # seconds between two log lines about it


class DatabaseAway:
    """ASGI middleware: a request that failed for want of a database answers 503."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._said = float("-inf")
        self.refused = 0  # requests answered 503 so far

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started or not database_unavailable(exc):
                raise
            self._tell(scope, exc)
            response = JSONResponse(
                {"detail": DETAIL}, status_code=503, headers={"Retry-After": str(RETRY_AFTER)}
            )
            await response(scope, receive, send)

    def _tell(self, scope: Any, exc: BaseException) -> None:
        """One line every few seconds while it lasts, not a trace per request."""
        self.refused += 1
        now = time.monotonic()
        if now - self._said >= SAY_EVERY:
            self._said = now
            log.warning(
                "the database is unavailable (%s); answering 503 (%d so far), e.g. to %s %s",
                type(exc).__name__,
                self.refused,
                scope.get("method"),
                scope.get("path"),
            )
