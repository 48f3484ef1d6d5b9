"""The demo's live terminal view: one line per thing Leadbot does in a chat, and a progress line.

It reads only what the sandbox chats received (never the database), so what it counts is what
a person watching the chats would have seen; the demo's test checks it against the database.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from bot.demo.board import ChatEvent
from bot.demo.people import Cast, SimulatedPeople

# what an edited card says became of the offer
OUTCOMES = [
    ("Accepted by", "accepted", "green", "✓"),
    ("Declined by", "declined", "red", "✗"),
    ("Expired", "expired", "yellow", "⌛"),
    ("Taken by", "taken", "dim", "·"),
    ("Withdrawn", "withdrawn", "dim", "·"),
]
ENDINGS = {"won": ("bold green", "★"), "lost": ("magenta", "☂")}
STAGE = re.compile(r"Stage: (\w+)")


@dataclass
class LiveView:
    console: Console
    cast: Cast
    quiet: bool = False  # the progress line only
    total: int = 0  # leads fed so far
    settled: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    # each thing counted once, whatever the number of copies showing it: (lead, partner, what)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    _started: float = field(default_factory=time.monotonic)
    _live: Live | None = None

    def __enter__(self) -> LiveView:
        self._live = Live(self._status(), console=self.console, refresh_per_second=8)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def on_event(self, event: ChatEvent) -> None:
        line = self._describe(event)
        if line is not None and not self.quiet:
            stamp = f"[dim]{time.monotonic() - self._started:6.1f}s[/]"
            where = escape(f"{event.platform:<8} {self.cast.name(event.platform, event.chat)}")
            self.print(f"{stamp} {where[:34]:<34} {line}")
        self.refresh()

    def print(self, markup: str) -> None:
        (self._live.console if self._live else self.console).print(markup, highlight=False)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._status())

    def _describe(self, event: ChatEvent) -> str | None:
        first = escape(event.text.splitlines()[0] if event.text else "")
        lead = SimulatedPeople.lead_of(event)
        partner = self.cast.chats.get((event.platform, event.chat), ("", ""))[0]
        if event.kind == "post" and event.is_offer:
            self._count(lead, partner, "cards")
            area = next((ln for ln in event.text.splitlines() if ln.startswith("Area")), "")
            first = first.split(" for ")[0]  # the chat's column names the partner
            return f"[cyan]▶ card[/]      {first} [dim]{escape(area)}[/] [Accept] [Decline]"
        if event.kind == "post" and event.text.startswith("Nobody took lead"):
            self._count(lead, "managers", "escalated")
            return f"[bold yellow]⚠ escalated[/] {first}"
        if event.kind == "post":
            return f"[blue]✉ notice[/]   {first}"
        if event.kind == "edit":
            return self._edited(event, first, lead, partner)
        if event.kind == "photo":
            return "[blue]▣ chart[/]    the funnel chart, as an image"
        if event.kind == "ephemeral":
            return f"[dim]… privately: {first}[/]"
        return None  # modals and questions: the people's side of the conversation

    def _count(self, lead: str, partner: str, what: str) -> None:
        if (lead, partner, what) not in self.seen:
            self.seen.add((lead, partner, what))
            self.counts[what] += 1

    def _edited(self, event: ChatEvent, first: str, lead: str, partner: str) -> str:
        stage = STAGE.search(event.text)
        if stage and stage.group(1) in ENDINGS:
            style, mark = ENDINGS[stage.group(1)]
            self._count(lead, partner, stage.group(1))
            return f"[{style}]{mark} {stage.group(1):<9}[/] {first}"
        if stage and stage.group(1) != "accepted":
            return f"[dim]↻ {stage.group(1):<9} {first}[/]"
        for marker, outcome, style, mark in OUTCOMES:
            if marker in event.text:
                self._count(lead, partner, outcome)
                detail = next((ln for ln in event.text.splitlines() if marker in ln), "")
                return f"[{style}]{mark} {outcome:<9}[/] {first} [dim]{escape(detail)}[/]"
        return f"[dim]↻ updated   {first}[/]"

    def _status(self) -> Text:
        c = self.counts
        return Text.from_markup(
            f"[bold]leads {self.settled}/{self.total} settled[/] · cards {c['cards']} · "
            f"[green]accepted {c['accepted']}[/] · [red]declined {c['declined']}[/] · "
            f"[yellow]expired {c['expired']}[/] · escalated {c['escalated']} · "
            f"[green]won {c['won']}[/] · lost {c['lost']}"
        )
