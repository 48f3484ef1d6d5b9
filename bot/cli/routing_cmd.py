"""`leadbot routing replay|why|who` and `leadbot geo import`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bot.bootstrap import Services
from bot.cli.common import run_with_services
from bot.dispatch.deciding import lead_facts, routing_options
from bot.domain.durations import parse_duration
from bot.policy_file import LeadbotConfig, load_file
from bot.postcodes import country_problem
from bot.reports.routing import format_coverage, format_explanation, get_explanation, who_covers
from bot.routing.directory import build_directory
from bot.routing.geo import read_geonames
from bot.routing.replay import ReplayLead, ReplayReport, replay

app = typer.Typer(help="Ask and try out routing.", no_args_is_help=True)
geo_app = typer.Typer(help="Postcode centroids for radius rules.", no_args_is_help=True)


@app.command()
def why(lead: str = typer.Argument(..., help="The lead's public id.")) -> None:
    """Why a lead went where it went: every round, every candidate, every filter."""

    async def action(services: Services) -> list[str] | None:
        async with services.uow() as uow:
            found = await get_explanation(uow, lead)
        return format_explanation(*found) if found else None

    lines = run_with_services(action)
    if lines is None:
        typer.echo(f"no lead '{lead}'", err=True)
        raise typer.Exit(1)
    typer.echo("\n".join(lines))


@app.command()
def who(
    postcode: str = typer.Argument(..., help="Postcode, like 80331."),
    specialty: str | None = typer.Argument(None, help="Optional specialty, like heat-pump."),
    country: str = typer.Option("DE", help="Country code of the postcode."),
) -> None:
    """Which partners cover a postcode, in the order routing would offer it now."""
    problem = country_problem(country)
    if problem is not None:  # not "Nobody covers it": no lead can come from there
        typer.echo(f"--country: {problem}", err=True)
        raise typer.Exit(2)
    wanted = specialty.strip().lower() if specialty else None  # as a lead's are stored

    async def action(services: Services) -> list[str]:
        async with services.uow() as uow:
            decision = await who_covers(
                uow, services.ctx, country=country, postcode=postcode, specialty=wanted
            )
        return format_coverage(decision)

    typer.echo("\n".join(run_with_services(action)))


EVERYTHING = datetime(1970, 1, 1, tzinfo=UTC)


def _start(now: datetime, window: timedelta) -> datetime:
    """`window` back from now; a window longer than the calendar reaches back to 1970."""
    try:
        return max(now - window, EVERYTHING)
    except OverflowError:
        return EVERYTHING


@app.command("replay")
def replay_cmd(
    since: str = typer.Option("90d", help="How far back, like 30d or 90d."),
    config: Path | None = typer.Option(None, help="A candidate leadbot.yaml to try instead."),
) -> None:
    """Run stored leads through the current (or a candidate) policy; nothing is sent."""
    try:
        window = parse_duration(since)
    except ValueError as exc:
        typer.echo(f"--since: {exc}", err=True)
        raise typer.Exit(2) from None

    async def action(services: Services) -> ReplayReport:
        async with services.uow() as uow:
            version, _policy = await services.ctx.policies.current(uow)
            current: LeadbotConfig = await services.ctx.policies.config(uow, version)
            candidate = load_file(config)[0] if config else current
            stored = await uow.leads.list_since(_start(services.ctx.now(), window))
            names = await uow.partners.list_names()
            ids = await uow.partners.ids_by_slug()
            open_leads = await uow.partners.open_counts()
        leads = [
            ReplayLead(
                lead_facts(lead),
                lead.received_at,
                names[lead.partner_id][0] if lead.partner_id else None,
            )
            for lead in stored
        ]
        directory = build_directory(candidate, version=0, ids=ids)
        return replay(
            directory,
            leads,
            router=services.ctx.router,
            options=routing_options(candidate.policy),
            open_leads={names[pid][0]: n for pid, n in open_leads.items()},
        )

    report = run_with_services(action)
    console = Console(highlight=False)
    title = f"Replay of {report.total} leads from the last {since}" + (
        f" with {config}" if config else " with the current policy"
    )
    console.print(title, soft_wrap=True, markup=False)  # a file name may hold [brackets]
    table = Table("partner", "would get", "share", "actually got", "share")
    for slug, would, would_share, got, got_share in report.rows():
        table.add_row(slug, str(would), f"{would_share:.1%}", str(got), f"{got_share:.1%}")
    console.print(table)
    unassigned = sum(report.unassigned.values())
    console.print(
        f"would end unassigned: {unassigned}"
        + "".join(f"\n  {n} × {reason}" for reason, n in report.unassigned.most_common())
    )


@geo_app.command("import")
def geo_import(
    file: Path = typer.Argument(..., help="GeoNames postal code file (DE.txt)."),
) -> None:
    """Load postcode centroids from a GeoNames file, replacing those of its countries."""

    async def action(services: Services) -> dict[str, int]:
        async with services.uow() as uow:
            counts = await uow.geo.replace(read_geonames(file))
            await uow.commit()
        return counts

    try:
        counts = run_with_services(action)
    except (ValueError, OSError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for country, n in sorted(counts.items()):
        typer.echo(f"{country}: {n} postcodes")
