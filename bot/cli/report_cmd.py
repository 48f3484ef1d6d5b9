"""`leadbot report funnel`: the chat's funnel, on the command line (the same engine and numbers)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.bootstrap import Services
from bot.cli.common import run_with_services
from bot.commands import CommandEngine
from bot.domain.actors import Actor, Source
from bot.messaging import Report

app = typer.Typer(help="Reports for channel managers.", no_args_is_help=True)


def print_report(report: Report, console: Console) -> None:
    if report.header:
        table = Table(*report.header, title=escape(report.title), title_justify="left")
        for row in report.rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
    else:
        console.print(report.title, style="bold", markup=False)
        for row in report.rows:
            console.print("  ".join(row), markup=False)  # usage lines hold [brackets]


@app.command()
def funnel(
    partner: str = typer.Option("all", help="A partner's slug, or all."),
    period: str = typer.Option("30d", help="7d, 30d, 90d, a month like 2026-03, or from..to."),
    by_source: bool = typer.Option(False, "--by-source", help="One row per lead source."),
    png: Path | None = typer.Option(None, help="Also write the chart to this PNG file."),
) -> None:
    """Offered, accepted, declined, expired, speed, contact, wins and revenue for a period."""
    line = f"funnel {partner} {period}" + (" by source" if by_source else "")

    async def action(services: Services) -> Report:
        engine = CommandEngine(services, source=Source.CLI)
        return await engine.run(Actor.system("cli"), line)

    report = run_with_services(action)
    print_report(report, Console(width=120))
    if report.title.startswith(("Unknown", "There is no", "Not")) or any(
        r and r[0].startswith("Usage:") for r in report.rows
    ):
        raise typer.Exit(1)
    if png is not None:
        if report.image_png is None:
            typer.echo("no chart for this report", err=True)
            raise typer.Exit(1)
        try:
            png.write_bytes(report.image_png)
        except OSError as exc:
            typer.echo(f"{png}: cannot write the chart ({exc.strerror})", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"chart written to {png}")
