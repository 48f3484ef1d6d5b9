"""The `leadbot` command line (typer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import typer
from pydantic import ValidationError

from bot.cli import (
    apikey_cmd,
    config_cmd,
    erase_cmd,
    leads_cmd,
    members_cmd,
    partners_cmd,
    report_cmd,
    routing_cmd,
)
from bot.cli.common import run_with_services, settings
from bot.config import Settings
from bot.domain.errors import ConfigError
from bot.logs import parse_level, setup_logging
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


@app.callback()
def _logging(ctx: typer.Context) -> None:
    # Every command logs through bot/logs.py: libraries never below INFO, so no SQL parameters,
    # request bodies or tokens. `serve` at LEADBOT_LOG_LEVEL; the others say only warnings
    # (DEBUG still turns their debug lines on); the demo has its own view.
    try:
        level = parse_level(Settings().leadbot_log_level)
    except ValidationError:
        level = logging.INFO  # the command itself reports the bad setting
    if ctx.invoked_subcommand == "demo":
        level = logging.WARNING
    elif ctx.invoked_subcommand != "serve" and level > logging.DEBUG:
        level = max(level, logging.WARNING)
    setup_logging(level)


@app.command()
def serve() -> None:
    """Run Leadbot: HTTP server, outbox sender and timers in one process."""
    from bot.server import serve as run_server

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_server(settings()))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        typer.echo(f"refused to start: {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    revision = run_with_services(lambda services: run_migrations(services.engine), migrate=False)
    typer.echo(f"database schema at revision {revision}")


@app.command()
def demo(
    leads: int = typer.Option(
        None, help="How many sample leads to feed [default: 20; 3 with --serve]."
    ),
    seed: int = typer.Option(7, help="Random seed: the same seed tells the same story."),
    speed: float = typer.Option(
        600, min=1, help="Time runs this many times faster (30m windows: 3 s)."
    ),
    serve: bool = typer.Option(False, help="Then keep serving, for leads you POST yourself."),
    port: int = typer.Option(
        None, help="Port to serve on [default: any free one; 8000 with --serve]."
    ),
    png: Path = typer.Option(
        Path("leadbot-demo-funnel.png"), help="Where to write the funnel chart."
    ),
    quiet: bool = typer.Option(False, help="Only the progress line and the summary."),
) -> None:
    """Run Leadbot against a local Slack and Telegram sandbox, with simulated partner reps."""
    from bot.demo import run_demo

    count = leads if leads is not None else (3 if serve else 20)
    port = port if port is not None else (8000 if serve else None)
    try:
        asyncio.run(
            run_demo(
                leads=count, seed=seed, speed=speed, serve=serve, port=port, png=png, quiet=quiet
            )
        )
    except OSError as exc:
        typer.echo(f"demo: {exc}", err=True)
        raise typer.Exit(2) from None


app.command("erase")(erase_cmd.erase)
