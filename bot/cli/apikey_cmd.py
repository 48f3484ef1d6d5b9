"""`leadbot apikey create|revoke NAME`."""

from __future__ import annotations

import typer

from bot.bootstrap import Services
from bot.cli.common import run_with_services

app = typer.Typer(help="Manage API keys for the intake API.", no_args_is_help=True)


@app.command()
def create(name: str) -> None:
    """Create a key; it is printed once and only its hash is stored."""

    async def action(services: Services) -> str:
        async with services.uow() as uow:
            key = await uow.apikeys.create(name, now=services.ctx.now())
            await uow.commit()
        return key

    key = run_with_services(action)
    typer.echo(f"API key '{name}' (shown once, store it now):\n{key}")


@app.command()
def revoke(name: str) -> None:
    """Revoke a key: requests using it are refused from now on."""

    async def action(services: Services) -> bool:
        async with services.uow() as uow:
            done = await uow.apikeys.revoke(name, now=services.ctx.now())
            await uow.commit()
        return done

    if not run_with_services(action):
        typer.echo(f"no live API key named '{name}'", err=True)
        raise typer.Exit(1)
    typer.echo(f"API key '{name}' revoked")
