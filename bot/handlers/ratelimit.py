"""Per-caller request limits (token buckets: 429 with Retry-After), and the API key cache."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """`rate` requests per second on average, bursts up to `burst`, per key (this process)."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str) -> float:
        """0 if the request may go ahead, else how many seconds to wait."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


class KeyCache:
    """API keys verified in the last `ttl` seconds, by hash: a busy client's requests skip the
    database look-up. A revoked key is refused by every instance within `ttl`."""

    def __init__(self, ttl: float = 10.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._names: dict[str, tuple[str, float]] = {}  # key hash -> (name, valid until)

    def get(self, key_hash: str) -> str | None:
        hit = self._names.get(key_hash)
        if hit is None or hit[1] < self._clock():
            self._names.pop(key_hash, None)
            return None
        return hit[0]

    def put(self, key_hash: str, name: str) -> None:
        if len(self._names) > 10_000:
            self._names.clear()
        self._names[key_hash] = (name, self._clock() + self._ttl)
