"""Report periods and their boundaries."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.periods import parse_period

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def test_rolling_days_end_now_and_include_it() -> None:
    p = parse_period("30d", now=NOW)
    assert p.start == datetime(2026, 2, 13, 12, 0, tzinfo=UTC)
    assert p.start <= NOW < p.end <= NOW + timedelta(seconds=1)


def test_a_month_is_half_open_and_december_rolls_over() -> None:
    p = parse_period("2026-02", now=NOW)
    assert (p.start, p.end) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    december = parse_period("2025-12", now=NOW)
    assert december.end == datetime(2026, 1, 1, tzinfo=UTC) and december.label == "December 2025"


def test_a_range_includes_its_last_day() -> None:
    p = parse_period("2026-03-01..2026-03-07", now=NOW)
    assert (p.start, p.end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0d", "between 1d and 3660d"),
        ("2026-13", "no month 13"),
        ("2026-03-09..2026-03-01", "the end is before the start"),
        ("2026-02-30..2026-03-01", "day is out of range"),
        ("last week", "use 7d, 30d"),
    ],
)
def test_bad_periods_say_what_is_accepted(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_period(text, now=NOW)
