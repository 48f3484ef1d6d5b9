"""`leadbot demo`: the real server and chat adapters against a local sandbox, with simulated reps.

See `bot.demo.run` for what runs, `bot.demo.view` for what is shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.demo.run import SETTLED, Show, close_show, feed, open_show, temporary_folder, until_settled
from bot.demo.summary import DemoResult, print_summary, write_chart
from bot.demo.view import LiveView
from bot.domain.periods import parse_period
from bot.reports.funnel import funnel_all
from bot.reports.history import get_lead_history

__all__ = ["SETTLED", "DemoResult", "run_demo"]


def _console(console: Console | None) -> Console:
    if console is not None:
        return console
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=140)


async def run_demo(
    *,
    leads: int = 20,
    seed: int = 7,
    speed: float = 600.0,
    serve: bool = False,
    port: int | None = None,
    png: Path | None = Path("leadbot-demo-funnel.png"),
    console: Console | None = None,
    quiet: bool = False,
    max_seconds: float = 600,
) -> DemoResult:
    """Feed `leads` sample leads through Leadbot and the sandbox chats; print and return what
    happened. With `serve`, keep serving until interrupted so a person can POST their own."""
    console = _console(console)
    started = time.monotonic()
    with temporary_folder() as tmp:
        show = await open_show(Path(tmp), seed=seed, speed=speed, port=port)
        view = LiveView(console, show.people.cast, quiet=quiet)
        show.board.listeners.append(view.on_event)
        try:
            _introduce(console, show, leads, speed)
            with view:
                await _play(show, view, leads, seed, max_seconds)
                if serve:
                    await _serve(show, view, console)
            result = await _result(show, view, png, time.monotonic() - started)
        finally:
            with contextlib.suppress(Exception):
                await close_show(show)
    print_summary(result, console)
    return result


def _introduce(console: Console, show: Show, leads: int, speed: float) -> None:
    window = show.document["policy"]["offer_timeout"]
    console.print(
        f"[bold]Leadbot demo[/] — {leads} sample leads, time {speed:g}x faster "
        f"(offer window {window}), a temporary SQLite database.\n"
        f"[dim]The Slack and Telegram here are a local SANDBOX on loopback (Slack "
        f"{show.slack.url}, Telegram {show.telegram.url}); Leadbot serves {show.url} and talks "
        "to them through "
        "its real adapters. Nothing leaves this machine. The sandbox has no rate limits: Leadbot "
        "paces each chat at a tenth of the real platforms' limits.[/]\n"
    )


async def _play(show: Show, view: LiveView, leads: int, seed: int, max_seconds: float) -> None:
    view.total = leads

    def progress(done: int) -> None:
        view.settled = done
        view.refresh()

    await feed(show, leads, random.Random(seed))
    await until_settled(show, progress, max_seconds)
    # a manager asks for the funnel from Slack, as `/lead funnel all today`
    managers = show.document.get("managers") or {}
    ada = next((m for m in managers.get("members", []) if m.get("slack")), None)
    if leads and ada and managers.get("slack_channel") and show.people.slack is not None:
        chart = show.board.expect(lambda e: e.kind == "photo" and e.platform == "slack")
        await show.people.slack.command(
            str(ada["slack"]), ada["name"], channel=managers["slack_channel"], text="funnel all 1d"
        )
        await show.board.wait(chart, 30)


async def _serve(show: Show, view: LiveView, console: Console) -> None:
    lead = {
        "source": "curl",
        "external_id": "my-first-lead",
        "country": "DE",
        "postcode": "80331",
        "city": "München",
        "specialties": ["heat-pump"],
        "need": "Heat pump for a terraced house",
        "contact": {"name": "Your Name", "email": "you@example.com"},
    }
    view.print(
        f"\n[bold]Serving[/] the sandbox at {show.url} (Ctrl-C to stop). "
        f"API key: [bold]{show.api_key}[/]\nPOST your own lead:\n\n"
        f"curl -sS {show.url}/api/v1/leads -H 'Authorization: Bearer {show.api_key}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(lead, ensure_ascii=False)}'\n"
    )
    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        while True:
            await _all_leads(show)
            view.total = len(show.lead_ids)
            view.refresh()
            await asyncio.sleep(1)  # serving until Ctrl-C; the leads move on their own
    await _all_leads(show)


async def _all_leads(show: Show) -> None:
    """Every lead in the database, those POSTed by hand included."""
    async with show.services.uow() as uow:
        found = await uow.leads.list_since(datetime(2000, 1, 1, tzinfo=UTC))
    show.lead_ids = [lead.id for lead in found]


async def _result(show: Show, view: LiveView, png: Path | None, seconds: float) -> DemoResult:
    async with show.services.uow() as uow:
        histories = [h for i in show.lead_ids if (h := await get_lead_history(uow, str(i)))]
        rows, total = await funnel_all(uow, parse_period("1d", now=show.services.ctx.now()))
    chart = write_chart(total if rows else None, png) if png is not None else None
    return DemoResult(
        histories, rows, total, dict(view.counts), chart, seconds, list(show.people.crashed)
    )
