"""Durations written like 90s, 30m, 2h, 1d."""

import re
from datetime import timedelta

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'30m' -> 30 minutes; ValueError with the accepted forms otherwise."""
    m = _DURATION.match(str(text).strip())
    if not m:
        raise ValueError(f"'{text}' is not a duration; use a number and s, m, h or d, like 30m")
    try:
        return timedelta(**{_UNITS[m[2]]: float(m[1])})
    except OverflowError:  # past timedelta's 999999999 days
        raise ValueError(f"'{text}' is too long") from None


def format_duration(delta: timedelta) -> str:
    """Shortest exact spelling: 1800 s -> '30m'."""
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
