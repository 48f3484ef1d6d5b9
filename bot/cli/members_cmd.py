"""`leadbot members invite`: a one-time code for a person to link their chat account."""

from __future__ import annotations

import typer

from bot.bootstrap import Services
from bot.cli.common import run_with_services, settings
from bot.dispatch.linking import CODE_VALID, invite_member
from bot.domain.offers import Outcome

app = typer.Typer(help="People and their chat accounts.", no_args_is_help=True)


@app.command()
def invite(
    name: str = typer.Argument(..., help="The member's name, as in leadbot.yaml."),
    partner: str | None = typer.Option(None, help="The partner's slug; leave out for managers."),
) -> None:
    """Print a one-time link code (valid 7 days) and how to use it in Slack and Telegram."""

    async def action(services: Services) -> Outcome | str:
        return await services.run(invite_member, name=name, partner_slug=partner)

    result = run_with_services(action)
    if isinstance(result, Outcome):
        typer.echo(result.message, err=True)
        raise typer.Exit(1)
    username = settings().telegram_bot_username
    typer.echo(f"Link code for {name}: {result} (works once, for {CODE_VALID.days} days)")
    typer.echo(f"  Slack:    /lead link {result}")
    typer.echo(
        f"  Telegram: /start {result}"
        + (f"   or open https://t.me/{username}?start={result}" if username else "")
    )
