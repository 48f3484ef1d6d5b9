"""How long a failing send is tried again, and how often.

A chat platform that is down for minutes (500s, timeouts, refused connections) must not make
every card undeliverable: a transient failure is given up only after `attempts` tries *and*
once the item has waited its patience (an offer card half an hour, about one offer window; an
edit or a notice a day). Between tries the wait doubles up to `chat_backoff`, so a recovered
platform is noticed within a minute. A rate limit is never a failure: its Retry-After is waited
out, however often. Webhooks keep their own, longer budget: a CRM down for a weekend still
gets every event when it is back (tried every `webhook_backoff` at most, for
`webhook_patience`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messaging import DeliveryError
from bot.store.outbox import OutboxItem, OutboxKind

LONGEST_RETRY_AFTER = 3600.0  # seconds: a Retry-After beyond this is taken as this


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    offer_patience: timedelta = timedelta(minutes=30)
    patience: timedelta = timedelta(hours=24)
    chat_backoff: float = 60.0
    webhook_attempts: int = 32
    webhook_patience: timedelta = timedelta(days=3)
    webhook_backoff: float = 300.0

    def gives_up(self, item: OutboxItem, exc: DeliveryError, *, now: datetime) -> bool:
        """True when `item` has failed for good with `exc` (this try included)."""
        if exc.permanent:
            return True
        if exc.retry_after is not None:
            return False  # a rate limit says "later", not "broken"
        tries = item.attempts + 1
        if item.kind is OutboxKind.WEBHOOK:
            attempts, patience = self.webhook_attempts, self.webhook_patience
        elif item.kind is OutboxKind.OFFER:
            attempts, patience = self.attempts, self.offer_patience
        else:
            attempts, patience = self.attempts, self.patience
        waited = now - item.created_at if item.created_at is not None else patience
        return tries >= attempts and waited >= patience

    def delay(self, item: OutboxItem, exc: DeliveryError) -> float:
        """Seconds until the next try."""
        if exc.retry_after is not None:
            return min(exc.retry_after, LONGEST_RETRY_AFTER)
        most = self.webhook_backoff if item.kind is OutboxKind.WEBHOOK else self.chat_backoff
        return min(2.0 ** min(item.attempts, 20), most)
