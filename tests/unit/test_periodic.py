"""A chore at most once a period, and at every pass while it has a backlog."""

from datetime import UTC, datetime, timedelta

from bot.periodic import Every

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_chore_waits_a_period_unless_a_backlog_is_left():
    hourly = Every(timedelta(hours=1))
    assert hourly.due(T0)  # never ran: due
    hourly.ran(T0, backlog=False)
    assert not hourly.due(T0 + timedelta(minutes=59))
    assert hourly.due(T0 + timedelta(hours=1))
    hourly.ran(T0 + timedelta(hours=1), backlog=True)
    assert hourly.due(T0 + timedelta(hours=1, seconds=30))  # the backlog goes on at once
