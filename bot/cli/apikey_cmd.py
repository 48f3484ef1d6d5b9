"""`leadbot apikey create|revoke NAME`."""

from __future__ import annotations

import typer

from bot.bootstrap import Services
from bot.cli.common import run_with_services

app = typer.Typer(help="Manage API keys for the intake API.", no_args_is_help=True)


NAME_LENGTH = 100  # the api_keys.name column


def _name_problem(name: str) -> str | None:
    # the name is how keys are told apart (revoke, logs, the Idempotency-Key's scope)
    if not name.strip():
        return "the key's name must not be blank"
    if len(name) > NAME_LENGTH:
        return f"the key's name has {len(name)} characters, at most {NAME_LENGTH}"
    return None


@app.command()
def create(name: str) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    problem = _name_problem(name)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)

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
