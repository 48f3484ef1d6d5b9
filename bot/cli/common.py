"""Helpers shared by the CLI commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from bot.bootstrap import Services, build
from bot.config import Settings
from bot.domain.errors import ConfigError, LeadbotError
from bot.store.migrate import migrate as run_migrations
from bot.store.outage import database_unavailable

T = TypeVar("T")


def settings() -> Settings:
    """The settings from the environment and `.env`; a bad one is said by its variable's name
    (`LEADBOT_API_RATE: Input should be greater than 0`), and the command stops."""
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            typer.echo(f"{name}: {msg}", err=True)  # not the value: it may be a secret
        raise typer.Exit(2) from None


def run_with_services(action: Callable[[Services], Awaitable[T]], *, migrate: bool = True) -> T:
    """Build services from the environment, bring the schema up to date, run `action`."""

    async def runner() -> T:
        services = build(settings())
        try:
            if migrate:
                await run_migrations(services.engine)
            return await action(services)
        finally:
            await services.close()

    try:
        return asyncio.run(runner())
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        typer.echo(f"refused: {len(exc.problems)} problem(s); nothing was changed", err=True)
        raise typer.Exit(2) from None
    except LeadbotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        # an OSError naming a file is about a file the command was given (its caller answers)
        if not database_unavailable(exc) or getattr(exc, "filename", None) is not None:
            raise
        reason = _reason(exc)
        typer.echo(f"error: the database in DATABASE_URL cannot be reached: {reason}", err=True)
        raise typer.Exit(1) from None


def _reason(exc: BaseException) -> str:
    """The driver's own words (SQLAlchemy's add the statement and a link), never the URL."""
    return str(exc.orig if isinstance(exc, DBAPIError) else exc)
