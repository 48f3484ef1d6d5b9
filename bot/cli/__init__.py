"""The `leadbot` command line (typer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import typer

from bot.cli import (
    apikey_cmd,
    config_cmd,
    leads_cmd,
    members_cmd,
    partners_cmd,
    report_cmd,
    routing_cmd,
)
from bot.cli.common import run_with_services, settings
from bot.store.migrate import migrate as run_migrations

app = typer.Typer(
    help="Leadbot: route leads to channel partners in Slack and Telegram.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(leads_cmd.app, name="leads")
app.add_typer(apikey_cmd.app, name="apikey")
app.add_typer(routing_cmd.app, name="routing")
app.add_typer(routing_cmd.geo_app, name="geo")
app.add_typer(report_cmd.app, name="report")
app.add_typer(members_cmd.app, name="members")
app.add_typer(partners_cmd.app, name="partners")


@app.command()
def serve() -> None:
    """Run Leadbot: HTTP server, outbox sender and timers in one process."""
    from bot.server import serve as run_server

    s = settings()
    logging.basicConfig(
        level=s.leadbot_log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_server(s))


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    revision = run_with_services(lambda services: run_migrations(services.engine), migrate=False)
    typer.echo(f"database schema at revision {revision}")


@app.command()
def demo(
    leads: int = typer.Option(20, help="How many sample leads to feed."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same run."),
    timeout: str = typer.Option("2s", help="Offer window (compressed; real default is 30m)."),
    quiet: bool = typer.Option(False, help="Only print the summary, not every card."),
) -> None:
    """Run a self-contained demo on a temporary SQLite database with simulated partners."""
    from bot.demo import run_demo

    asyncio.run(run_demo(leads=leads, seed=seed, offer_window=timeout, quiet=quiet))
