"""The demo's ending: what happened to every lead and the funnel per partner, read from the
database, and the funnel chart written as a PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.domain.leads import DispatchStatus
from bot.reports.charts import funnel_chart
from bot.reports.funnel import Funnel
from bot.reports.history import LeadHistory


@dataclass(frozen=True)
class DemoResult:
    histories: list[LeadHistory]  # every fed lead, from the database
    funnel: list[Funnel]  # per partner, from the database
    total: Funnel | None
    seen: dict[str, int]  # what the live view counted in the chats
    chart: Path | None
    seconds: float
    failed_presses: list[str]  # presses of the simulated reps that raised (none, normally)


def write_chart(total: Funnel | None, path: Path) -> Path | None:
    if total is None:
        return None
    path.write_bytes(funnel_chart(total, period="this demo"))
    return path


def print_summary(result: DemoResult, console: Console) -> None:
    """What happened to every lead, then the funnel per partner."""
    leads = Table(
        "lead", "postcode", "status", "stage", "offers, in order",
        title="\nWhat happened to every lead", title_justify="left",
    )  # fmt: skip
    for h in result.histories:
        lead = h.lead
        trail = " → ".join(f"{h.partner_slugs[o.partner_id]}:{o.status}" for o in h.offers)
        leads.add_row(lead.public_id, lead.postcode, lead.status, lead.stage, trail or "-")
    console.print(leads)
    table = Table(
        "partner", "offered", "accepted", "declined", "expired", "accept %", "won", "lost",
        "revenue won", title="\nFunnel per partner", title_justify="left",
    )  # fmt: skip
    for row in result.funnel:
        rate = f"{row.acceptance_rate:.0%}" if row.acceptance_rate is not None else "-"
        table.add_row(
            row.key, str(row.offered), str(row.accepted), str(row.declined), str(row.expired),
            rate, str(row.won), str(row.lost), f"{row.revenue:,.0f}",
        )  # fmt: skip
    console.print(table)
    unassigned = sum(h.lead.status is DispatchStatus.UNASSIGNED for h in result.histories)
    console.print(
        f"\n{len(result.histories)} leads in {result.seconds:.1f}s; {unassigned} went to the "
        "managers. Every card above was posted to the sandbox Slack and Telegram by the real "
        "adapters, and every press came back through Leadbot's HTTP server."
    )
    if result.failed_presses:
        console.print(
            f"[bold red]{len(result.failed_presses)} simulated presses failed[/], "
            f"first: {result.failed_presses[0]}"
        )
    if result.chart is not None:
        console.print(f"Funnel chart written to [bold]{result.chart}[/]")
