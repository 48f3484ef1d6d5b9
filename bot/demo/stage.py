"""The demo's stage: the SANDBOX Slack Web API and Telegram Bot API on loopback, watched.

Leadbot talks to them through its real adapters (SlackMessenger, TelegramMessenger, Bolt, PTB)
exactly as it would talk to Slack and Telegram; what it sends is turned into `ChatEvent`s on
the board. Nothing leaves the machine.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.demo.board import Board, ChatEvent
from bot.sandbox.slack import FakeSlack
from bot.sandbox.telegram import FakeTelegram

_SLACK_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>|<@(\w+)>|<([^|>]+)\|([^>]+)>")
_TAGS = re.compile(r"<[^>]+>")


def slack_text(blocks: Any) -> str:
    """The readable text of Block Kit sections: tokens resolved, mrkdwn marks dropped."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    parts = []
    for block in blocks or []:
        text = (block.get("text") or {}).get("text")
        if block.get("type") == "section" and text:
            parts.append(text)
    joined = "\n".join(parts).replace("```", "").replace("*", "").replace("_", " ")
    joined = _SLACK_TOKEN.sub(
        lambda m: m.group(1) or (f"@{m.group(2)}" if m.group(2) else m.group(4)), joined
    )
    return html.unescape(joined)


def slack_buttons(blocks: Any) -> dict[str, str]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {
        e["text"]["text"]: e["value"]
        for b in blocks or []
        if b.get("type") == "actions"
        for e in b["elements"]
    }


def telegram_text(text: str) -> str:
    return html.unescape(_TAGS.sub("", text.replace("&#8203;@", "")))


def telegram_buttons(markup: Any) -> dict[str, str]:
    rows = (markup or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def _answer(response: web.StreamResponse) -> dict[str, Any]:
    body = getattr(response, "body", None)
    try:
        return dict(json.loads(body)) if isinstance(body, bytes | bytearray) else {}
    except ValueError:
        return {}


@dataclass
class WatchedSlack(FakeSlack):
    """The sandbox Slack, telling the board what Leadbot posted, edited and opened."""

    board: Board = field(default_factory=Board)

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        call, answer = self.calls[-1], _answer(response)
        if not answer.get("ok"):
            return response
        args = call.args
        blocks = args.get("blocks")
        channel = str(args.get("channel", ""))
        if call.method in ("chat.postMessage", "chat.update"):
            kind = "post" if call.method == "chat.postMessage" else "edit"
            ts = str(answer.get("ts") or args.get("ts", ""))
            text = slack_text(blocks) or str(args.get("text", ""))
            self.board.publish(ChatEvent("slack", kind, channel, ts, text, slack_buttons(blocks)))
        elif call.method == "views.open":
            given = args.get("view")
            view: dict[str, Any] = (
                json.loads(given) if isinstance(given, str) else dict(given or {})
            )
            trigger = str(args.get("trigger_id", ""))
            title = str(view["title"]["text"])
            self.board.publish(ChatEvent("slack", "modal", "", trigger, title, extra=view))
        elif call.method == "files.completeUploadExternal":
            self.board.publish(ChatEvent("slack", "photo", channel, "", "chart"))
        return response

    async def _respond(self, request: web.Request) -> web.Response:
        response = await super()._respond(request)
        said = self.responses[-1]
        user = request.path.rsplit("/", 1)[-1]
        text = html.unescape(str(said.get("text", "")))
        self.board.publish(ChatEvent("slack", "ephemeral", user, "", text))
        return response


@dataclass
class WatchedTelegram(FakeTelegram):
    """The sandbox Bot API, telling the board what Leadbot sent and edited."""

    board: Board = field(default_factory=Board)

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        method, args = self.calls[-1]
        answer = _answer(response)
        if not answer.get("ok"):
            return response
        result = answer.get("result")
        message_id = str(result.get("message_id", "")) if isinstance(result, dict) else ""
        chat = str(args.get("chat_id", ""))
        markup = args.get("reply_markup") or {}
        text = telegram_text(str(args.get("text") or args.get("caption") or ""))
        if method == "sendMessage":
            kind = "question" if markup.get("force_reply") else "post"
            self._publish(kind, chat, message_id, text, markup)
        elif method == "editMessageText":
            self._publish("edit", chat, str(args.get("message_id")), text, markup)
        elif method == "editMessageReplyMarkup":
            self._publish("buttons", chat, str(args.get("message_id")), "", markup)
        elif method == "sendPhoto":
            self._publish("photo", chat, message_id, text or "chart", {})
        elif method == "answerCallbackQuery" and args.get("show_alert"):
            self._publish("ephemeral", "", "", text, {})
        return response

    def _publish(self, kind: str, chat: str, ref: str, text: str, markup: Any) -> None:
        event = ChatEvent("telegram", kind, chat, ref, text, telegram_buttons(markup))
        self.board.publish(event)
