"""Report periods: `7d`, `30d`, `90d`, a month `YYYY-MM`, or `YYYY-MM-DD..YYYY-MM-DD` (UTC days).

A period is half-open, [start, end): a lead received at exactly `end` belongs to the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.domain.errors import InvalidInput

PERIOD_HELP = "7d, 30d, 90d, a month like 2026-03, or 2026-03-01..2026-03-31"
_INSTANT = timedelta(microseconds=1)
_DAYS = re.compile(r"^(\d{1,4})d$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_period(text: str, *, now: datetime) -> Period:
    """The period `text` names, relative to `now`; InvalidInput saying what is accepted."""
    text = text.strip().lower()
    if m := _DAYS.match(text):
        days = int(m.group(1))
        if not 1 <= days <= 3660:
            raise InvalidInput(f"period '{text}': between 1d and 3660d")
        # up to and including this moment: a lead received just now counts
        return Period(now - timedelta(days=days), now + _INSTANT, f"last {days} days")
    if m := _MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise InvalidInput(f"period '{text}': no month {month}")
        if not 2000 <= year <= 2100:
            raise InvalidInput(f"period '{text}': a year between 2000 and 2100")
        start = date(year, month, 1)
        end = date(year + month // 12, month % 12 + 1, 1)
        return Period(_midnight(start), _midnight(end), start.strftime("%B %Y"))
    if m := _RANGE.match(text):
        try:
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError as exc:
            raise InvalidInput(f"period '{text}': {exc}") from None
        if last < first:
            raise InvalidInput(f"period '{text}': the end is before the start")
        if first.year < 2000 or last.year > 2100:
            raise InvalidInput(f"period '{text}': years between 2000 and 2100")
        return Period(_midnight(first), _midnight(last + timedelta(days=1)), f"{first}..{last}")
    raise InvalidInput(f"period '{text}': use {PERIOD_HELP}")
