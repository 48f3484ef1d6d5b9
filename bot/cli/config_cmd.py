"""`leadbot config check|apply FILE`."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.common import run_with_services, settings
from bot.domain.errors import ConfigError
from bot.operations import apply_config
from bot.policy_file import load_file

app = typer.Typer(help="Check or apply leadbot.yaml.", no_args_is_help=True)
DEFAULT = "[default: LEADBOT_CONFIG, else ./leadbot.yaml]"


def _file(given: Path | None) -> Path:
    # the file `serve` applies at start: checking or applying another by default would be wrong
    return given if given is not None else settings().leadbot_config


@app.command()
def check(
    file: Path | None = typer.Argument(
        None, help=f"The file to check {DEFAULT}.", show_default=False
    ),
) -> None:
    """Validate a file without touching the database; exit code 2 lists every problem."""
    file = _file(file)
    try:
        config, _ = load_file(file)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{file}: {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{file}: ok ({len(config.partners)} partners, mode {config.policy.mode})")


@app.command()
def apply(
    file: Path | None = typer.Argument(
        None, help=f"The file to apply {DEFAULT}.", show_default=False
    ),
) -> None:
    """Apply a file as a new policy version; a bad file is refused whole (exit code 2)."""
    file = _file(file)
    version = run_with_services(lambda services: apply_config(services, file))
    typer.echo(f"{file}: applied as policy version {version}")
