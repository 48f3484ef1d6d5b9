"""A chore run from the sweep at most once a period, and at every pass while it has a backlog."""

from __future__ import annotations

from datetime import datetime, timedelta


class Every:
    """`due(now)` before the chore; `ran(now, backlog=...)` after it."""

    def __init__(self, period: timedelta) -> None:
        self.period = period
        self._next: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._next is None or now >= self._next

    def ran(self, now: datetime, *, backlog: bool) -> None:
        """A backlog goes on at the next pass; otherwise the chore waits a period."""
        self._next = now if backlog else now + self.period
