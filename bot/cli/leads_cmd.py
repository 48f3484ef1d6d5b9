"""`leadbot leads import CSV` and `leadbot leads show ID`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.bootstrap import Services
from bot.cli.common import run_with_services
from bot.csv_import import COLUMNS, read_leads
from bot.dispatch import assign_lead
from bot.dispatch.reassign import reassign_lead
from bot.domain.actors import Actor, Role, Source
from bot.domain.leads import source_problem
from bot.domain.offers import Outcome
from bot.reports.history import LeadHistory, get_lead_history

app = typer.Typer(help="Import and inspect leads.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help=f"CSV with a header row; columns: {', '.join(COLUMNS)}"),
    source: str = typer.Option("csv", help="Source name for rows without a source column."),
) -> None:
    """Import leads; bad rows are reported by line, good ones imported and routed once."""
    problem = source_problem(source)
    if problem is not None:  # said once, not as a fault of every row that takes it
        typer.echo(f"--source: {problem}", err=True)
        raise typer.Exit(2)

    try:
        rows = read_leads(file, default_source=source)
    except OSError as exc:  # as config check says it: the path, then why
        typer.echo(f"{file}: cannot be read ({exc.strerror})", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    rejected = [row for row in rows if row.lead is None]
    problems = [f"{file}: line {row.line}: {p}" for row in rejected for p in row.problems]

    async def action(services: Services) -> tuple[int, int]:
        created = repeats = 0
        actor = Actor.system("csv import")
        for row in rows:
            if row.lead is None:
                continue
            _lead, new, _offers = await services.submit_lead(
                row.lead.to_new_lead(), actor=actor, source=Source.CLI
            )
            created, repeats = created + new, repeats + (not new)
        return created, repeats

    created, repeats = run_with_services(action)
    for problem in problems:
        typer.echo(problem, err=True)
    typer.echo(f"{created} imported, {repeats} already there, {len(rejected)} rejected")
    if problems:
        raise typer.Exit(1)


@app.command()
def show(lead: str = typer.Argument(..., help="The lead's public id, like L7K3F9Q2.")) -> None:
    """Status, stage, partner, offers and the full event history of one lead."""

    async def action(services: Services) -> LeadHistory | None:
        async with services.uow() as uow:
            return await get_lead_history(uow, lead)

    history = run_with_services(action)
    if history is None:
        typer.echo(f"no lead '{lead}'", err=True)
        raise typer.Exit(1)
    print_history(history, Console(highlight=False))


OPERATOR = Actor(name="operator (CLI)", role=Role.MANAGER)


def _run_on_lead(lead: str, use_case: Any, **kwargs: Any) -> None:
    """Resolve a public lead id and run a manager use case on it as the operator."""

    async def action(services: Services) -> Outcome | None:
        async with services.uow() as uow:
            found = await uow.leads.get_by_public_id(lead)
        if found is None:
            return None
        return await services.run(
            use_case, lead_id=found.id, actor=OPERATOR, source=Source.CLI, **kwargs
        )

    outcome = run_with_services(action)
    if outcome is None:
        typer.echo(f"no lead '{lead}'", err=True)
        raise typer.Exit(1)
    typer.echo(outcome.message, err=not outcome.ok)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command()
def assign(lead: str, partner: str = typer.Argument(..., help="The partner's slug.")) -> None:
    """Give a lead to a partner directly (as a manager; bypasses the filters, logged)."""
    _run_on_lead(lead, assign_lead, partner_slug=partner)


@app.command()
def reassign(
    lead: str,
    partner: str | None = typer.Argument(None, help="Give it to this partner; default: route on."),
) -> None:
    """Take an accepted lead back from its partner, then route it on (or give it to PARTNER)."""
    _run_on_lead(lead, reassign_lead, partner_slug=partner)


def print_history(h: LeadHistory, console: Console) -> None:
    # every value is escaped: a lead's text comes from whoever filled in a form, and rich would
    # read its brackets as markup (and stop at a stray '[/]')
    lead = h.lead
    console.print(
        f"[bold]Lead {lead.public_id}[/]  "
        + escape(
            f"{lead.country} {lead.postcode} {lead.city or ''}  "
            f"needs: {', '.join(lead.specialties) or '-'}"
        )
    )
    console.print(
        escape(
            f"status: {lead.status}   stage: {lead.stage}   partner: {h.partner or '-'}   "
            f"source: {lead.source}   received: {lead.received_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    )
    offers = Table(
        "offer",
        "round",
        "partner",
        "mode",
        "status",
        "delivered",
        "answered",
        "by",
        "reason",
        title="Offers",
        title_justify="left",
    )
    for o in h.offers:
        offers.add_row(
            *_cells(
                str(o.id),
                str(o.round),
                h.partner_names.get(o.partner_id, "?"),
                o.mode,
                o.status,
                f"{o.delivered_at:%H:%M:%S}" if o.delivered_at else "-",
                f"{o.responded_at:%H:%M:%S}" if o.responded_at else "-",
                o.responder or "-",
                o.decline_reason or "",
            )
        )
    console.print(offers)
    events = Table(
        "at (UTC)", "event", "actor", "via", "details", title="History", title_justify="left"
    )
    for e in h.events:
        details = ", ".join(f"{k}={v}" for k, v in e.data.items() if v not in (None, ""))
        events.add_row(*_cells(f"{e.at:%H:%M:%S.%f}"[:-3], e.kind, e.actor, e.source, details))
    console.print(events)


def _cells(*values: str) -> list[str]:
    return [escape(v) for v in values]
