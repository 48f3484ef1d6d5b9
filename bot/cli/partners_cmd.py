"""`leadbot partners invite SLUG --slack`: the link for a partner's admin to install the app in
the partner's own Slack workspace."""

from __future__ import annotations

import typer

from bot.bootstrap import Services
from bot.cli.common import run_with_services, settings
from bot.dispatch.installs import INVITE_VALID, invite_install
from bot.domain.offers import Outcome

app = typer.Typer(help="Partners and how they connect.", no_args_is_help=True)


@app.command()
def invite(
    slug: str = typer.Argument(..., help="The partner's slug, as in leadbot.yaml."),
    slack: bool = typer.Option(False, "--slack", help="An install link for their Slack."),
) -> None:
    """Print an install link (works once, for 7 days) to send to the partner's admin."""
    s = settings()
    problem = None
    if not slack:
        problem = "Say which platform: --slack (Telegram needs no install; add the bot to a group)."
    elif not s.slack_oauth_enabled:
        problem = (
            "Partners can install Leadbot in their own Slack only with SLACK_BOT_TOKEN, "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set (see the README, Slack)."
        )
    elif not s.leadbot_public_url:
        problem = (
            "Set LEADBOT_PUBLIC_URL to where browsers reach this server "
            "(https://leads.example.com): the link points there."
        )
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(1)

    async def action(services: Services) -> Outcome | str:
        return await services.run(invite_install, partner_slug=slug)

    result = run_with_services(action)
    if isinstance(result, Outcome):
        typer.echo(result.message, err=True)
        raise typer.Exit(1)
    link = f"{(s.leadbot_public_url or '').rstrip('/')}/slack/install?invite={result}"
    typer.echo(f"Install link for {slug} (works once, for {INVITE_VALID.days} days):")
    typer.echo(f"  {link}")
    typer.echo(
        "Send it to their Slack admin. Once it is installed, the managers are told in the chat, "
        "with what to add to leadbot.yaml (slack_team:, slack_channel:) if anything."
    )
