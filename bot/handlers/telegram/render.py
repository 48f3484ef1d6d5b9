"""Telegram HTML text and inline keyboards for every message Leadbot sends (kept in one place).

All lead text is made plain (bot/handlers/inert.py) and escaped for Telegram HTML;
`callback_data` stays under Telegram's 64 bytes.
"""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.inert import plain
from bot.handlers.presses import Ask
from bot.messaging import Button, CardState, Notice, OfferCard, Report

CHOICE = "#"
BACK = "back"  # the choice that puts the card's own buttons back
LIMIT = 4096  # Telegram's message length
SLOW = "Still working on it: the card shows the outcome in a moment."
EXPIRED = (
    "That question has expired (I wait an hour for an answer). "
    "Press the button on the card again and reply to the new question."
)


def escape(text: str) -> str:
    """Lead text made plain, then escaped for Telegram HTML."""
    return html.escape(plain(text))


def visible_length(text: str) -> int:
    """How long Telegram counts an HTML message: its text once tags are parsed and entities
    read (`&quot;` is one character), in UTF-16 code units."""
    shown = html.unescape(_TAG.sub("", text))
    return len(shown.encode("utf-16-le")) // 2


_TAG = re.compile(r"<[^>]*>")


def _fit(lines: list[str]) -> str:
    """Join finished HTML lines, dropping whole lines from the end to fit (never cutting a tag
    or an entity in half, which Telegram would refuse)."""
    while lines and visible_length("\n".join(lines)) > LIMIT:
        lines = lines[:-1]
    return "\n".join(lines)


def _mentions(ids: list[str]) -> str:
    return " ".join(
        f'<a href="tg://user?id={i}">&#8203;@</a>' for i in ids if i.isdigit()
    )  # "<button value>#<n>": the n-th choice of the question the button asks


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label[:64], callback_data=b.value[:64]) for b in row]
            for row in rows
        ]
    )


def offer_text(card: OfferCard) -> str:
    lines = [f"<b>{escape(card.headline)}</b>"]
    if card.state is not CardState.CLOSED:
        lines += [f"<b>{escape(k)}:</b> {escape(v)}" for k, v in card.teaser]
    if card.state is CardState.OPEN:
        if card.why_you:
            lines.append(f"<i>Why you:</i> {escape(card.why_you)}")
        if card.deadline is not None:  # no per-reader dates as Slack has: the partner's own
            due = card.deadline.astimezone(ZoneInfo(card.timezone))
            lines.append(f"Answer by {due:%H:%M %Z} ({due:%d %b})")
    if card.status_line:
        lines.append(escape(card.status_line))
    if card.contact is not None:
        c = card.contact
        for label, value in (
            ("Name", c.name),
            ("Company", c.company),
            ("Phone", c.phone),
            ("E-mail", c.email),
            ("Street", c.street),
        ):
            if value:
                lines.append(f"<b>{label}:</b> {escape(value)}")
    if card.stage:
        lines.append(f"Stage: <b>{escape(card.stage)}</b>")
    if card.state is CardState.OPEN and card.mentions:
        lines.append(_mentions(card.mentions))  # the reps' phones push
    return _fit(lines)


def notice_text(notice: Notice) -> str:
    lines = [f"<b>{escape(notice.title)}</b>", *map(escape, notice.lines)]
    if notice.mentions:
        lines.append(_mentions(notice.mentions))
    return _fit(lines)


def report_text(report: Report) -> str:
    title = f"<b>{escape(report.title)}</b>"

    def table(lines: list[str]) -> str:
        return title + "\n<pre>" + "\n".join(escape(line) for line in lines) + "</pre>"

    lines = report.lines_within(lambda lines: visible_length(table(lines)) <= LIMIT)
    return table(lines) if lines else title  # whole rows only


def choices_keyboard(ask: Ask) -> InlineKeyboardMarkup:
    """The question's choices as buttons on the same message (a decline or lost reason)."""
    buttons = [
        Button(choice.replace("_", " "), f"{ask.value}{CHOICE}{n}")
        for n, choice in enumerate(ask.choices)
    ]
    buttons.append(Button("« Back", f"{ask.value}{CHOICE}{BACK}"))
    markup = keyboard(buttons)
    assert markup is not None
    return markup


def question_text(ask: Ask, user_id: int, name: str) -> str:
    """A question answered by replying (ForceReply), addressed to who pressed, so that in a
    group only their keyboard opens the reply."""
    what = "the amount" if not ask.choices and "value" in ask.label.lower() else "your answer"
    who = f'<a href="tg://user?id={int(user_id)}">{escape(name)}</a>'
    return f"{who}, {escape(ask.title)}: {escape(ask.label)}? Reply to this message with {what}."
