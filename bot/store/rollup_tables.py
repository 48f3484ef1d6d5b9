"""Tables of the funnel rollup (bot/reports/rollup.py)."""

from sqlalchemy import BigInteger, Column, Date, Float, Integer, PrimaryKeyConstraint, String, Table

from bot.store.tables import metadata

# The funnel, rolled up per day the leads were received (UTC), partner (0: none) and source, so
# `funnel all 90d` sums a few thousand rows instead of reading every lead. Kept current by
# bot/reports/rollup.py from the events written since `funnel_rollup_state.event_id`.
funnel_days = Table(
    "funnel_days",
    metadata,
    Column("day", Date, nullable=False),
    Column("partner_id", Integer, nullable=False),  # offers: the offered partner; leads: holder
    Column("source", String(64), nullable=False),
    *(
        Column(name, BigInteger, nullable=False)
        for name in (
            "offered",
            "accepted",
            "declined",
            "expired",
            "undeliverable",
            "withdrawn",
            "assigned",
            "leads",
            "contacted",
            "qualified",
            "opportunity",
            "won",
            "lost",
            "open",
            "stale",
            "unassigned",
        )
    ),  # fmt: skip
    Column("revenue", Float, nullable=False),
    PrimaryKeyConstraint("day", "partner_id", "source"),
)

# declined (offers) and lost (leads) counted by reason
funnel_reasons = Table(
    "funnel_reasons",
    metadata,
    Column("day", Date, nullable=False),
    Column("partner_id", Integer, nullable=False),
    Column("source", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # declined | lost
    Column("reason", String(64), nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "partner_id", "source", "kind", "reason"),
)

# time to accept and time to first contact, as histograms at the precision they are shown
# (see funnel_sql.bucket). Keyed so a period's histograms per partner are summed in key order,
# without sorting; no index on day, which would tempt the planner into a sort
funnel_times = Table(
    "funnel_times",
    metadata,
    Column("metric", String(8), nullable=False),  # accept | contact
    Column("partner_id", Integer, nullable=False),
    Column("seconds", Integer, nullable=False),
    Column("day", Date, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("metric", "partner_id", "seconds", "day"),
)

# the last lead_events.id folded into the rollup (one row, id 1)
funnel_rollup_state = Table(
    "funnel_rollup_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
)
