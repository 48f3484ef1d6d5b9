"""`leadbot demo` runs the real engine to the end and reports what the database holds."""

from io import StringIO

from rich.console import Console

from bot.demo import SETTLED, run_demo


async def test_demo_runs_to_completion_with_short_timeouts():
    out = StringIO()
    result = await run_demo(
        leads=10,
        seed=3,
        offer_window="0.4s",
        quiet=False,
        console=Console(file=out, width=160),
        max_seconds=60,
    )
    text = out.getvalue()
    assert len(result.histories) == 10
    assert all(h.lead.status in SETTLED for h in result.histories)
    for h in result.histories:
        assert h.lead.public_id in text
        assert h.events[0].kind == "received"
    offers = sum(len(h.offers) for h in result.histories)
    assert sum(row.offered for row in result.funnel) == offers > 0
    assert "Funnel per partner" in text and "New lead" in text
    statuses = {h.lead.status for h in result.histories}
    assert "unassigned" in statuses  # the Berlin lead, or one nobody took, reached the managers
