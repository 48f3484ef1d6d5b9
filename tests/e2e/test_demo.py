"""`leadbot demo` end to end: the real server and adapters against the sandbox chats, simulated
reps pressing real buttons; what the live view counted in the chats matches the database."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from io import StringIO

import httpx
from rich.console import Console

from bot.demo import SETTLED, run_demo
from bot.domain.leads import DispatchStatus, Stage


async def test_the_demo_reports_what_the_database_holds(tmp_path):
    out = StringIO()
    chart = tmp_path / "funnel.png"
    result = await run_demo(
        leads=10, seed=3, speed=3000, png=chart, console=Console(file=out, width=200),
        max_seconds=120,
    )  # fmt: skip
    text = out.getvalue()
    assert len(result.histories) == 10
    assert all(h.lead.status in SETTLED for h in result.histories)
    assert result.failed_presses == []  # every simulated press reached Leadbot and returned
    for h in result.histories:
        assert h.lead.public_id in text

    # what a person watching the sandbox chats saw is what the database holds
    offers = Counter(o.status for h in result.histories for o in h.offers)
    delivered = sum(n for status, n in offers.items() if status != "undeliverable")
    seen = Counter(result.seen)
    assert seen["cards"] == delivered > 0
    assert seen["accepted"] == offers["accepted"] > 0
    assert seen["declined"] == offers["declined"]
    assert seen["expired"] == offers["expired"]
    assert seen["declined"] + seen["expired"] > 0
    leads = [h.lead for h in result.histories]
    unassigned = sum(lead.status is DispatchStatus.UNASSIGNED for lead in leads)
    assert seen["escalated"] == unassigned > 0  # the Berlin lead nobody covers, at least
    assert seen["won"] == sum(lead.stage is Stage.WON for lead in leads)
    assert seen["lost"] == sum(lead.stage is Stage.LOST for lead in leads)
    assert sum(row.offered for row in result.funnel) == sum(offers.values())

    # the manager's /lead funnel came back with its chart; the chart file was written
    assert "Funnel: all partners" in text and "the funnel chart, as an image" in text
    assert "Funnel per partner" in text and f"Funnel chart written to {chart}" in text
    png = chart.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


async def printed(out: StringIO, pattern: str) -> re.Match[str]:
    """Until the demo has printed `pattern` (bounded)."""
    async with asyncio.timeout(30):
        while (found := re.search(pattern, out.getvalue())) is None:  # noqa: ASYNC110 -- output
            await asyncio.sleep(0.05)
    return found


async def test_the_demo_serves_a_lead_posted_by_hand(tmp_path):
    """`leadbot demo --serve`: the printed curl command's lead is carded and taken like any."""
    out = StringIO()
    demo = asyncio.create_task(
        run_demo(
            leads=0, seed=5, speed=3000, serve=True, png=None,
            console=Console(file=out, width=400), max_seconds=60,
        )
    )  # fmt: skip
    found = await printed(out, r"curl -sS (\S+) -H 'Authorization: Bearer (\S+)'")
    url, key = found.groups()
    lead = {"source": "curl", "external_id": "by-hand", "country": "DE", "postcode": "80331"}
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(url, json=lead, headers={"Authorization": f"Bearer {key}"})
        assert created.status_code == 201, created.text
        public_id = created.json()["id"]
        await printed(out, f"New lead {public_id}")
    demo.cancel()  # Ctrl-C
    result = await demo
    assert [h.lead.public_id for h in result.histories] == [public_id]
