"""Working hours in a partner's own time zone, with holidays (pure).

No weekly hours means open all day, every day; a holiday is closed all day, hours or not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.hours import WeeklyHours

_ALL_DAY = [(time(0), time.max)]


def _spans(hours: WeeklyHours, day: date) -> list[tuple[time, time]]:
    """The day's working spans in order, overlapping or touching ones merged (`mon-fri:
    08:00-18:00` with `mon: 09:00-10:00` is 08:00-18:00 on Monday, not 11 hours); all of the
    day when no weekly hours are given."""
    if not hours:
        return _ALL_DAY
    merged: list[tuple[time, time]] = []
    for start, end in sorted(hours.get(day.weekday(), [])):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def is_open(hours: WeeklyHours, tz: str, holidays: frozenset[date], at: datetime) -> bool:
    """True when `at` falls inside the weekly hours (none given: all day) and not on a holiday."""
    if not hours and not holidays:
        return True
    local = at.astimezone(ZoneInfo(tz))
    if local.date() in holidays:
        return False
    now = local.time()
    spans = hours.get(local.weekday(), []) if hours else _ALL_DAY  # overlaps do no harm here
    return any(start <= now < end for start, end in spans)


def next_opening(
    hours: WeeklyHours, tz: str, holidays: frozenset[date], at: datetime, *, days: int = 366
) -> datetime | None:
    """The first moment at or after `at` when the partner is open (None if not within `days`:
    a year, so weeks of company holidays still end in an opening). Walked only for a partner
    closed now."""
    if is_open(hours, tz, holidays, at):
        return at
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    for offset in range(days + 1):
        day = local.date() + timedelta(days=offset)
        if day in holidays:
            continue
        for start, _end in _spans(hours, day):
            opening = datetime.combine(day, start, tzinfo=zone)
            # in UTC, and the second time round too: in the hour the clocks go back a wall-clock
            # comparison took the first 02:45 as after the second 02:30 (a time in the past)
            for candidate in (opening, opening.replace(fold=1)):
                if candidate.astimezone(UTC) >= at.astimezone(UTC):
                    return candidate.astimezone(at.tzinfo)
    return None


def add_working_time(
    hours: WeeklyHours, tz: str, holidays: frozenset[date], start: datetime, delta: timedelta
) -> datetime:
    """`start` plus `delta` counted only inside working hours (the SLA clock).

    Friday 17:50 plus 30 minutes on mon-fri 08:00-18:00 is Monday 08:20. Holidays do not count,
    with weekly hours or without; neither given: plain addition.
    """
    if not hours and not holidays:
        return start + delta
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    left = delta
    day = local.date()
    for _ in range(366 * 2):
        if day not in holidays:
            for begin, end in _spans(hours, day):
                # in UTC: aware datetimes in one zone subtract as wall-clock time, wrong across
                # a daylight-saving change
                span_start = max(
                    datetime.combine(day, begin, tzinfo=zone).astimezone(UTC), start.astimezone(UTC)
                )
                end_day, end_time = (
                    (day + timedelta(days=1), time(0)) if end == time.max else (day, end)
                )
                span_end = datetime.combine(end_day, end_time, tzinfo=zone).astimezone(UTC)
                if span_end <= span_start:
                    continue
                available = span_end - span_start
                if left <= available:
                    return (span_start + left).astimezone(start.tzinfo)
                left -= available
        day += timedelta(days=1)
    raise ValueError("no working hours in the next two years")
