"""Working hours like {mon-fri: "08:00-18:00", sat: "09:00-12:00"}."""

from __future__ import annotations

import re
from datetime import time

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

WeeklyHours = dict[int, list[tuple[time, time]]]


def _days(key: str) -> list[int]:
    days: list[int] = []
    for part in key.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"'{key}' is not a day or day range like mon-fri")
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise ValueError(f"'{key}' runs backwards; write it like mon-fri")
        days.extend(range(a, b + 1))
    return days


def _span(text: str) -> tuple[time, time]:
    m = _SPAN.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a time span like 08:00-18:00")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"'{text}' has an impossible time")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)  # 24:00: to the end of the day
    if end <= start:
        raise ValueError(f"'{text}' ends before it starts")
    return start, end


def parse_hours(spec: dict[str, str | list[str]]) -> WeeklyHours:
    """Parse the YAML form into {weekday: [(start, end), ...]} (Monday is 0)."""
    weekly: WeeklyHours = {}
    for key, spans in spec.items():
        for day in _days(key):
            for text in [spans] if isinstance(spans, str) else spans:
                weekly.setdefault(day, []).append(_span(text))
    return weekly
