"""Working hours in the partner's own time zone, with holidays."""

from datetime import UTC, date, datetime

from bot.domain.hours import parse_hours
from bot.routing.hours import is_open, next_opening

HOURS = parse_hours({"mon-fri": "08:00-18:00", "sat": "09:00-12:00"})
BERLIN = "Europe/Berlin"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_open_in_local_time():
    # 2026-03-02 is a Monday; Berlin is UTC+1 in March before the switch
    assert is_open(HOURS, BERLIN, frozenset(), utc(2026, 3, 2, 7, 30))  # 08:30 local
    assert not is_open(HOURS, BERLIN, frozenset(), utc(2026, 3, 2, 6, 30))  # 07:30 local
    assert not is_open(HOURS, BERLIN, frozenset(), utc(2026, 3, 2, 17, 0))  # 18:00 local: closed
    assert not is_open(HOURS, BERLIN, frozenset(), utc(2026, 3, 8, 10, 0))  # Sunday


def test_no_hours_means_open_all_day_except_on_holidays():
    christmas_eve = frozenset({date(2026, 12, 24)})
    assert is_open({}, BERLIN, frozenset(), utc(2026, 12, 24, 3, 0))
    assert is_open({}, BERLIN, christmas_eve, utc(2026, 12, 23, 22, 59))  # 23:59 on the 23rd
    assert not is_open({}, BERLIN, christmas_eve, utc(2026, 12, 23, 23, 0))  # 00:00 local
    assert not is_open({}, BERLIN, christmas_eve, utc(2026, 12, 24, 22, 59))
    assert is_open({}, BERLIN, christmas_eve, utc(2026, 12, 24, 23, 0))  # the 25th
    # the next opening is the first moment of the next day that is not a holiday
    both = christmas_eve | {date(2026, 12, 25)}
    assert next_opening({}, BERLIN, both, utc(2026, 12, 24, 9, 0)) == utc(2026, 12, 25, 23, 0)


def test_a_holiday_stops_the_sla_clock_without_weekly_hours():
    from datetime import timedelta

    from bot.routing.hours import add_working_time

    christmas_eve = frozenset({date(2026, 12, 24)})
    # 23:30 on the 23rd in Berlin plus an hour: half an hour before midnight, half after the 24th
    assert add_working_time(
        {}, BERLIN, christmas_eve, utc(2026, 12, 23, 22, 30), timedelta(hours=1)
    ) == utc(2026, 12, 24, 23, 30)
    assert add_working_time(
        {}, BERLIN, frozenset(), utc(2026, 12, 23, 22, 30), timedelta(hours=1)
    ) == utc(2026, 12, 23, 23, 30)


def test_next_opening_across_a_weekend_and_a_holiday():
    saturday_evening = utc(2026, 3, 7, 15, 0)  # Sat 16:00 local, after Saturday hours
    assert next_opening(HOURS, BERLIN, frozenset(), saturday_evening) == utc(2026, 3, 9, 7, 0)
    holiday = frozenset({date(2026, 3, 9)})
    assert next_opening(HOURS, BERLIN, holiday, saturday_evening) == utc(2026, 3, 10, 7, 0)
    at_work = utc(2026, 3, 9, 9, 0)
    assert next_opening(HOURS, BERLIN, frozenset(), at_work) == at_work


def test_next_opening_after_a_closure_of_several_weeks():
    """Four weeks of company holidays in August: a held lead waits for the first working day
    after them, and a reminder moves there, instead of finding no opening at all."""
    from datetime import timedelta

    closed = frozenset(date(2026, 8, 1) + timedelta(days=n) for n in range(30))
    friday_evening = utc(2026, 7, 31, 17, 0)  # 19:00 in Berlin
    assert next_opening(HOURS, BERLIN, closed, friday_evening) == utc(2026, 8, 31, 6, 0)


def test_next_opening_respects_daylight_saving():
    # Berlin switches to UTC+2 on 2026-03-29; Monday 30 March opens at 06:00 UTC
    assert next_opening(HOURS, BERLIN, frozenset(), utc(2026, 3, 28, 12, 0)) == utc(
        2026, 3, 30, 6, 0
    )


def test_next_opening_in_the_hour_the_clocks_go_back_is_not_in_the_past():
    # 2026-10-25, Berlin: 02:00-03:00 happens twice. At 02:30 the second time (01:30 UTC) a
    # shift opening at 02:45 opens at 02:45 the second time (01:45 UTC), not the first (00:45)
    night = parse_hours({"sun": "02:45-06:00"})
    at = utc(2026, 10, 25, 1, 30)
    assert not is_open(night, BERLIN, frozenset(), at)
    assert next_opening(night, BERLIN, frozenset(), at) == utc(2026, 10, 25, 1, 45)
    # the first time round it is the first 02:45
    assert next_opening(night, BERLIN, frozenset(), utc(2026, 10, 25, 0, 30)) == utc(
        2026, 10, 25, 0, 45
    )


def test_sla_clock_counts_only_working_hours():
    from datetime import timedelta

    from bot.routing.hours import add_working_time

    friday_1750 = utc(2026, 3, 6, 16, 50)  # 17:50 Berlin
    monday_0820 = utc(2026, 3, 9, 7, 20)
    half_hour = timedelta(minutes=30)
    weekdays = parse_hours({"mon-fri": "08:00-18:00"})
    assert add_working_time(weekdays, BERLIN, frozenset(), friday_1750, half_hour) == monday_0820
    holiday = frozenset({date(2026, 3, 9)})
    assert add_working_time(weekdays, BERLIN, holiday, friday_1750, half_hour) == utc(
        2026, 3, 10, 7, 20
    )
    # Saturday hours count when there are some
    assert add_working_time(HOURS, BERLIN, frozenset(), friday_1750, half_hour) == utc(
        2026, 3, 7, 8, 20
    )
    # inside hours it is plain addition; no hours at all: plain addition
    assert add_working_time(weekdays, BERLIN, frozenset(), utc(2026, 3, 9, 9, 0), half_hour) == utc(
        2026, 3, 9, 9, 30
    )
    assert (
        add_working_time({}, BERLIN, frozenset(), friday_1750, half_hour) == friday_1750 + half_hour
    )
    # a window spanning a night: 3 h from Monday 16:00 local ends Tuesday 09:00 local
    assert add_working_time(
        weekdays, BERLIN, frozenset(), utc(2026, 3, 9, 15, 0), timedelta(hours=3)
    ) == utc(2026, 3, 10, 8, 0)


def test_sla_clock_counts_real_time_across_daylight_saving():
    from datetime import timedelta

    from bot.routing.hours import add_working_time

    all_day = parse_hours({"mon-sun": "00:00-24:00"})
    four_hours = timedelta(hours=4)
    # Berlin springs forward on 2024-03-31 at 02:00 local: four real hours still pass
    assert add_working_time(
        all_day, BERLIN, frozenset(), utc(2024, 3, 30, 22, 0), four_hours
    ) == utc(2024, 3, 31, 2, 0)
    # and falls back on 2024-10-27 at 03:00 local
    assert add_working_time(
        all_day, BERLIN, frozenset(), utc(2024, 10, 26, 22, 0), four_hours
    ) == utc(2024, 10, 27, 2, 0)
    night = parse_hours({"mon-sun": "01:00-05:00"})  # only three real hours on that night
    assert add_working_time(
        night, BERLIN, frozenset(), utc(2024, 3, 31, 0, 0), timedelta(hours=3)
    ) == utc(2024, 3, 31, 3, 0)


def test_overlapping_and_touching_spans_count_once():
    from datetime import timedelta

    from bot.policy_file import validate_document
    from bot.routing.hours import add_working_time
    from tests.factories import config, partner

    written = {"mon-fri": "08:00-18:00", "mon": ["09:00-10:00", "17:00-19:00"]}
    validate_document(config([partner("acme", hours=written)]))  # accepted as written
    overlapping = parse_hours(written)
    monday_0800 = utc(2026, 3, 2, 7, 0)  # Berlin
    # Monday 08:00-19:00 is 11 hours: 09:00-10:00 and 17:00-18:00 count once (counted twice,
    # the window ended at 10:00 on Monday)
    assert add_working_time(overlapping, BERLIN, frozenset(), monday_0800, timedelta(hours=11)) == (
        utc(2026, 3, 2, 18, 0)
    )
    assert add_working_time(
        overlapping, BERLIN, frozenset(), monday_0800, timedelta(hours=12)
    ) == utc(2026, 3, 3, 8, 0)  # Tuesday 09:00
    touching = parse_hours({"mon-fri": ["08:00-12:00", "12:00-18:00", "10:00-11:00"]})
    assert add_working_time(
        touching, BERLIN, frozenset(), utc(2026, 3, 2, 10, 0), timedelta(hours=8)
    ) == utc(2026, 3, 3, 8, 0)  # 11:00-18:00 Monday is seven hours; the eighth ends Tue 09:00
    assert is_open(overlapping, BERLIN, frozenset(), utc(2026, 3, 2, 17, 30))  # 18:30 Monday
    assert next_opening(overlapping, BERLIN, frozenset(), utc(2026, 3, 2, 18, 0)) == utc(
        2026, 3, 3, 7, 0
    )
