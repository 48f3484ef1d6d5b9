"""Block Kit for every Slack message Leadbot sends (kept in one place).

All lead text is made plain (bot/handlers/inert.py) and escaped: `&`, `<` and `>` become
entities, so nothing a web form says can become a mention, a `<!channel>` or a link, and
sections are `verbatim`, so Slack does not turn a bare @here or address into one either.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from bot.domain.offers import Outcome
from bot.handlers.inert import plain
from bot.handlers.presses import Ask
from bot.messaging import Button, CardState, Notice, OfferCard, Report
from bot.reports.home import Home

Block = dict[str, Any]
DECLINE_CALLBACK = "leadbot_answer"
CLOSED = "`\u2060`\u2060`"  # three backticks that cannot close the table's code block


def escape(text: str) -> str:
    return plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> Block:
    # verbatim: Slack does not turn a bare @channel, #channel or address into a mention or link
    if len(text) > 3000:  # Slack's limit; never half an entity
        text = re.sub(r"&[a-z]*$", "", text[:2999]) + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _buttons(buttons: list[Button]) -> Block:
    elements = []
    for n, b in enumerate(buttons):
        element: dict[str, Any] = {
            "type": "button",
            "action_id": f"leadbot:{n}",
            "text": {"type": "plain_text", "text": b.label[:75]},
            "value": b.value,
        }
        if b.style in ("primary", "danger"):
            element["style"] = b.style
        elements.append(element)
    return {"type": "actions", "block_id": "leadbot_buttons", "elements": elements}


def offer_blocks(card: OfferCard) -> tuple[str, list[Block]]:
    """(fallback text for the notification, blocks) of an offer card in any state."""
    blocks: list[Block] = [_section(f"*{escape(card.headline)}*")]
    if card.state is not CardState.CLOSED and card.teaser:
        blocks.append(_section("\n".join(f"*{escape(k)}:* {escape(v)}" for k, v in card.teaser)))
    if card.state is CardState.OPEN:
        if card.why_you:
            blocks.append(_section(f"_Why you:_ {escape(card.why_you)}"))
        if card.deadline is not None:
            blocks.append(_section(f"Answer by {_deadline(card.deadline)}"))
        if card.mentions:
            blocks.append(_section(" ".join(f"<@{m}>" for m in card.mentions if m.isalnum())))
    if card.status_line:
        line = escape(card.status_line)
        if card.responder is not None and card.responder[1].isalnum():
            name, user = card.responder  # "Accepted by Bob" -> "Accepted by @Bob"
            said = f"Accepted by {escape(name)}"  # the name where it stands, not wherever it is
            if line.startswith(said):
                line = f"Accepted by <@{user}>" + line.removeprefix(said)
        blocks.append(_section(line))
    if card.contact is not None:
        c = card.contact
        lines = [
            f"*{label}:* {escape(value)}"
            for label, value in (
                ("Name", c.name),
                ("Company", c.company),
                ("Phone", c.phone),
                ("E-mail", c.email),
                ("Street", c.street),
            )
            if value
        ]
        if lines:
            blocks.append(_section("\n".join(lines)))
    if card.stage:
        blocks.append(_section(f"Stage: *{escape(card.stage)}*"))
    if card.buttons:
        blocks.append(_buttons(card.buttons))
    return escape(card.headline), blocks


def notice_blocks(notice: Notice) -> tuple[str, list[Block]]:
    blocks = [_section(f"*{escape(notice.title)}*")]
    if notice.lines:
        blocks.append(_section("\n".join(escape(line) for line in notice.lines)))
    if notice.mentions:
        blocks.append(_section(" ".join(f"<@{m}>" for m in notice.mentions if m.isalnum())))
    if notice.buttons:
        blocks.append(_buttons(notice.buttons))
    return escape(notice.title), blocks


def report_blocks(report: Report) -> tuple[str, list[Block]]:
    """A command's answer: the title, then the table as monospaced text (readable on a phone)."""
    blocks = [_section(f"*{escape(report.title)}*")]

    def code(lines: list[str]) -> list[str]:
        return [escape(line).replace("```", CLOSED) for line in lines]

    # whole rows only: never half an entity
    lines = code(report.lines_within(lambda lines: sum(len(x) + 1 for x in code(lines)) <= 2900))
    if lines:
        blocks.append(_section("```" + "\n".join(lines) + "```"))
    if report.buttons:
        blocks.append(_buttons(report.buttons))
    return escape(report.title), blocks


def ask_view(ask: Ask, *, channel: str, message_ts: str, home: bool = False) -> dict[str, Any]:
    """The modal asking for a decline reason, a value or a lost reason (`home`: asked from the
    App Home tab, which is drawn again once answered)."""
    if ask.choices:
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": "answer",
            "options": [
                {"text": {"type": "plain_text", "text": c.replace("_", " ")[:75]}, "value": c}
                for c in ask.choices
            ],
        }
    else:
        element = {"type": "plain_text_input", "action_id": "answer"}
    return {
        "type": "modal",
        "callback_id": DECLINE_CALLBACK,
        "private_metadata": json.dumps(
            {"v": ask.value, "c": channel, "t": message_ts, **({"h": 1} if home else {})}
        ),
        "title": {"type": "plain_text", "text": ask.title[:24]},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": ask.label},
                "element": element,
            }
        ],
    }


def _deadline(when: datetime) -> str:
    stamp = int(when.timestamp())
    return f"<!date^{stamp}^{{time}} ({{date_short_pretty}})|{when:%H:%M} UTC>"


def _table(report: Report) -> list[Block]:
    _text, blocks = report_blocks(report)
    return blocks


def home_tab(home: Home, *, note: Outcome | None = None) -> dict[str, Any]:
    """The App Home tab (`views.publish`): what `home` shows, `note` (the answer to a press made
    on this tab) first. Slack allows 100 blocks; sections are kept short by the report."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": home.title[:150]}}
    ]
    if note is not None:
        mark = ":white_check_mark:" if note.ok else ":warning:"
        blocks.append(_section(f"{mark} {escape(note.message)}"))
    if home.intro:
        blocks.append(_section("\n".join(escape(line) for line in home.intro)))
    for section in home.sections:
        blocks += [{"type": "divider"}, _section(f"*{escape(section.heading)}*")]
        if not section.entries and section.empty:
            blocks.append(_section(f"_{escape(section.empty)}_"))
        for entry in section.entries:
            text = [f"*{escape(entry.title)}*", *(escape(line) for line in entry.lines)]
            if entry.deadline is not None:
                text.append(f"Answer by {_deadline(entry.deadline)}")
            blocks.append(_section("\n".join(text)))
            if entry.buttons:
                block = _buttons(entry.buttons)
                del block["block_id"]  # block ids must be unique in a view
                blocks.append(block)
        if section.more:
            blocks.append(_section(f"_…and {section.more} more: `/lead open`_"))
    for report in home.tables:
        blocks += [{"type": "divider"}, *_table(report)]
    return {"type": "home", "blocks": blocks[:100]}
