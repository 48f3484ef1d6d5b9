"""`leadbot demo`: the real engine, store, sender and timers, with simulated partners."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from bot.bootstrap import Services, build
from bot.config import Settings
from bot.demo.people import SimulatedPeople
from bot.demo.samples import sample_leads
from bot.domain.actors import Actor, Source
from bot.domain.durations import parse_duration
from bot.domain.leads import DispatchStatus
from bot.domain.periods import parse_period
from bot.messengers.console import ConsoleMessenger
from bot.policy_file import validate_document
from bot.reports.funnel import Funnel, funnel
from bot.reports.history import LeadHistory, get_lead_history
from bot.store.migrate import migrate

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "leadbot.yaml"
SETTLED = (DispatchStatus.ACCEPTED, DispatchStatus.CLOSED, DispatchStatus.UNASSIGNED)


@dataclass(frozen=True)
class DemoResult:
    histories: list[LeadHistory]
    funnel: list[Funnel]
    database: str
    seconds: float


async def _setup(services: Services, offer_window: str) -> None:
    await migrate(services.engine)
    document = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    document["policy"]["offer_timeout"] = offer_window
    config = validate_document(document, filename=str(SAMPLE_CONFIG))
    async with services.uow() as uow:
        await uow.config.apply(
            config, document, source_file=str(SAMPLE_CONFIG), now=services.ctx.now()
        )
        await uow.commit()


async def _all_settled(services: Services, lead_ids: list[int], people: SimulatedPeople) -> bool:
    async with services.uow() as uow:
        for lead_id in lead_ids:
            lead = await uow.leads.get(lead_id)
            if lead is None or lead.status not in SETTLED:
                return False
        pending = await uow.outbox.count(status="pending")
    return pending == 0 and not people.tasks


async def run_demo(
    *,
    leads: int = 20,
    seed: int = 7,
    offer_window: str = "2s",
    quiet: bool = False,
    console: Console | None = None,
    max_seconds: float = 300,
) -> DemoResult:
    """Feed `leads` sample leads through the real engine and print what happened to each."""
    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=120)
    window = parse_duration(offer_window).total_seconds()
    rng = random.Random(seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="leadbot-demo-") as tmp:
        db = Path(tmp) / "demo.db"
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{db}",
            leadbot_config=SAMPLE_CONFIG,
            leadbot_sweep_interval=max(0.5, window / 2),
        )
        chats = {p: ConsoleMessenger(p, console, quiet=quiet) for p in ("slack", "telegram")}
        services = build(settings, messengers=chats, poll_interval=0.2)
        people = SimulatedPeople(services, random.Random(seed + 1), window)
        for chat in chats.values():
            chat.listeners.append(people.on_card)
        try:
            await _setup(services, offer_window)
            await services.start()
            console.print(
                f"[bold]Leadbot demo[/]: {leads} leads, offer window {offer_window}, "
                f"database {db} (temporary)\n"
            )
            lead_ids = []
            for new in sample_leads(leads, rng):
                lead, _created, _offers = await services.submit_lead(
                    new, actor=Actor.system("demo web form"), source=Source.DEMO
                )
                lead_ids.append(lead.id)
                await asyncio.sleep(rng.uniform(0.02, 0.15))
            deadline = time.monotonic() + max_seconds
            while not await _all_settled(services, lead_ids, people):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the demo did not settle within {max_seconds:.0f}s")
                await asyncio.sleep(0.1)
            await services.stop()
            async with services.uow() as uow:
                histories = [
                    h
                    for ref in lead_ids
                    if (h := await get_lead_history(uow, str(ref))) is not None
                ]
                rows = await funnel(uow, parse_period("1d", now=services.ctx.now()))
        finally:
            await services.close()
    result = DemoResult(histories, rows, str(db), time.monotonic() - started)
    print_summary(result, console)
    return result


def print_summary(result: DemoResult, console: Console) -> None:
    """What happened to every lead, then the funnel per partner."""
    leads = Table(
        "lead",
        "postcode",
        "status",
        "stage",
        "offers, in order",
        title="\nWhat happened to every lead",
        title_justify="left",
    )
    for h in result.histories:
        lead = h.lead
        trail = " → ".join(f"{h.partner_slugs[o.partner_id]}:{o.status}" for o in h.offers)
        leads.add_row(lead.public_id, lead.postcode, lead.status, lead.stage, trail or "-")
    console.print(leads)
    table = Table(
        "partner",
        "offered",
        "accepted",
        "declined",
        "expired",
        "accept %",
        "won",
        "lost",
        "revenue won",
        title="\nFunnel per partner",
        title_justify="left",
    )
    for row in result.funnel:
        rate = f"{row.acceptance_rate:.0%}" if row.acceptance_rate is not None else "-"
        table.add_row(
            row.key,
            str(row.offered),
            str(row.accepted),
            str(row.declined),
            str(row.expired),
            rate,
            str(row.won),
            str(row.lost),
            f"{row.revenue:,.0f}",
        )
    console.print(table)
    unassigned = sum(h.lead.status is DispatchStatus.UNASSIGNED for h in result.histories)
    console.print(
        f"\n{len(result.histories)} leads in {result.seconds:.1f}s; "
        f"{unassigned} went to the managers. Inspect one with "
        f"`leadbot leads show <id>` on your own database."
    )
