"""`leadbot erase --email X | --phone X [--dry-run]`."""

from __future__ import annotations

import typer

from bot.bootstrap import Services
from bot.cli.common import run_with_services
from bot.dispatch.erasure import Erasure, erase_person
from bot.domain.actors import Actor, Role, Source
from bot.domain.errors import InvalidInput
from bot.domain.privacy import normalize_email, phone_to_find

OPERATOR = Actor(name="operator (CLI)", role=Role.MANAGER)


def erase(
    email: str | None = typer.Option(None, help="The person's e-mail address (any case)."),
    phone: str | None = typer.Option(
        None, help="The person's phone number, written any way (+49 89 1234, 089 1234...)."
    ),
    dry_run: bool = typer.Option(False, help="Only show what would be erased."),
) -> None:
    """Erase a person's contact data from all their leads (counts and stages stay)."""
    if (email is None) == (phone is None):
        typer.echo("give exactly one of --email or --phone", err=True)
        raise typer.Exit(2)
    try:  # checked before anything is opened: bad input changes nothing
        if email is not None:
            normalize_email(email)
        else:
            phone_to_find(phone or "")
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def action(services: Services) -> Erasure:
        return await services.run(
            erase_person, email=email, phone=phone, actor=OPERATOR, source=Source.CLI,
            dry_run=dry_run,
        )  # fmt: skip

    done = run_with_services(action)
    what = f"the e-mail address {email.strip()}" if email else f"the phone number {phone}"
    if not done.leads:
        typer.echo(f"no lead has {what}; nothing was changed", err=True)
        raise typer.Exit(1)
    verb = "would erase" if dry_run else "erased"
    typer.echo(f"{verb} the contact of {len(done.leads)} lead(s): {', '.join(done.leads)}")
    cards = f"{done.cards} chat message(s)"
    if dry_run:
        typer.echo(f"{cards} would be redrawn without it; nothing was changed (--dry-run)")
    else:
        typer.echo(f"{cards} are redrawn without it, through the outbox (by `leadbot serve`)")
    if done.still_open:
        typer.echo(
            f"not finished yet: {', '.join(done.still_open)}; their cards show no contact from "
            "now on"
        )
