"""The Messenger port and the neutral view-models adapters render (Block Kit, Telegram HTML...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.domain.leads import Contact


class CardState(StrEnum):
    OPEN = "open"  # waiting for Accept / Decline
    WON = "won"  # this partner accepted: contact details and stage buttons
    CLOSED = "closed"  # declined, expired, withdrawn or taken by another: teaser removed


@dataclass(frozen=True)
class Button:
    label: str
    value: str  # short opaque id, e.g. "o:42:a" (Telegram allows 64 bytes)
    style: str = "default"  # default | primary | danger


@dataclass(frozen=True)
class OfferCard:
    """Everything a chat needs to show one offer, in whatever state it is in."""

    offer_id: int
    lead_ref: str
    partner_name: str
    state: CardState
    headline: str
    teaser: list[tuple[str, str]] = field(default_factory=list)  # (label, value), no personal data
    why_you: str = ""
    deadline: datetime | None = None
    timezone: str = "UTC"  # the partner's: where a chat writes times out as text (Telegram)
    mentions: list[str] = field(default_factory=list)  # platform user ids to push
    status_line: str = ""
    # who accepted, as named at the start of status_line, and their user id on this platform
    # when they are linked there (Slack shows them as a mention)
    responder: tuple[str, str] | None = None
    contact: Contact | None = None  # only in state WON
    stage: str | None = None
    buttons: list[Button] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    """A message for managers or a partner that is not an offer (escalation, failure...)."""

    title: str
    lines: list[str] = field(default_factory=list)
    lead_ref: str | None = None
    buttons: list[Button] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)  # platform user ids to push

    def to_payload(self) -> dict[str, object]:
        return {
            "title": self.title,
            "lines": self.lines,
            "lead_ref": self.lead_ref,
            "buttons": [[b.label, b.value, b.style] for b in self.buttons],
            "mentions": self.mentions,
        }

    @classmethod
    def from_payload(cls, data: dict[str, object]) -> Notice:
        buttons = [Button(*b) for b in data.get("buttons", [])]  # type: ignore[attr-defined]
        return cls(
            title=str(data["title"]),
            lines=list(data.get("lines", [])),  # type: ignore[call-overload]
            lead_ref=data.get("lead_ref"),  # type: ignore[arg-type]
            buttons=buttons,
            mentions=list(data.get("mentions", [])),  # type: ignore[call-overload]
        )


@dataclass(frozen=True)
class Report:
    """The answer to a command: a title, rows of text or a table, an optional image."""

    title: str
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] | None = None
    image_png: bytes | None = None
    buttons: list[Button] = field(default_factory=list)
    # an answer the people of a team chat may all see (a report, a change made), not a
    # refusal or a usage line: asked in the managers' own chat, it is answered there
    shareable: bool = False

    def aligned_lines(self) -> list[str]:
        """The header and rows as plain text lines, columns padded to line up in monospace."""
        rows = ([self.header] if self.header and any(self.header) else []) + self.rows
        if not rows:
            return []
        widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
        return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) for r in rows]

    def lines_within(self, fits: Callable[[list[str]], bool]) -> list[str]:
        """`aligned_lines`, whole rows dropped from the end until `fits` (a chat's length limit)
        takes them, then a line saying how many were left out: never a silently short table."""
        lines = self.aligned_lines()
        if fits(lines):
            return lines
        for keep in range(len(lines) - 1, -1, -1):
            shown = [*lines[:keep], f"... {len(lines) - keep} more rows: too long for one message"]
            if fits(shown):
                return shown
        return []


@dataclass(frozen=True)
class Target:
    """Where to send: a platform, a workspace/team and a channel or chat id."""

    platform: str
    team: str
    chat_id: str


@dataclass(frozen=True)
class MessageRef:
    """What a platform gives back for a sent message, so it can be edited later."""

    chat_id: str
    message_id: str


class DeliveryError(Exception):
    """A send failed. `permanent`: retrying cannot help. `gone`: nor can any other message to
    that chat (bot removed or blocked, channel deleted or archived, token revoked).
    `team_wide`: gone for every chat of that workspace (the workspace's token is dead).
    `outage`: the platform itself did not answer (timeout, refused connection, 5xx): nothing is
    wrong with the message, so the whole chat waits before the next try, not just this one."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        gone: bool = False,
        team_wide: bool = False,
        outage: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent or gone or team_wide
        self.retry_after = retry_after
        self.gone = gone or team_wide
        self.team_wide = team_wide
        self.outage = outage and not self.permanent


@dataclass(frozen=True)
class Pace:
    """How fast a platform takes messages: the least time between two messages to one chat
    (kept in the database, so it holds across instances) and between any two messages of this
    process. Zero: no pacing."""

    per_chat: float = 0.0
    per_group: float | None = None  # group chats, where they are slower (Telegram: 20/min)
    overall: float = 0.0

    def interval(self, target: Target) -> float:
        if self.per_group is not None and target.chat_id.startswith("-"):
            return self.per_group  # Telegram group and channel ids are negative
        return self.per_chat


NO_PACE = Pace()


class Messenger(Protocol):
    """One chat platform. Implementations raise DeliveryError on failure."""

    platform: str
    pace: Pace

    async def send_offer(self, target: Target, card: OfferCard) -> MessageRef: ...

    async def edit_offer(self, target: Target, ref: MessageRef, card: OfferCard) -> None: ...

    async def send_notice(self, target: Target, notice: Notice) -> MessageRef: ...


@runtime_checkable
class FindsSent(Protocol):
    """A platform that can look a message up by the key it was posted with (Slack: message
    metadata), so a post whose answer was lost is found instead of being posted twice."""

    async def find_sent(self, target: Target, key: str) -> MessageRef | None: ...

    async def send_offer(
        self, target: Target, card: OfferCard, *, key: str | None = None
    ) -> MessageRef: ...

    async def send_notice(
        self, target: Target, notice: Notice, *, key: str | None = None
    ) -> MessageRef: ...
