"""Telegram updates for tests, built from the real shapes in tests/payloads/telegram."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "telegram"
MANAGERS, ACME, BETA = -1001000000001, -1001000000002, -1001000000003
BOB, CARLA, ADA = 2002, 3003, 1001
_ids = itertools.count(20000)  # message and query ids the tests make up


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def _chat(chat: int) -> dict[str, Any]:
    if chat > 0:  # a private chat has the user's id
        return {"id": chat, "first_name": "Someone", "type": "private"}
    return {"id": chat, "title": "A group", "type": "supergroup"}


def press(user: int, name: str, data: str, chat: int, message_id: int) -> dict[str, Any]:
    """A tap on an inline button of message `message_id` in `chat`."""
    update = copy.deepcopy(payload("callback_query.json"))
    query = update["callback_query"]
    query["from"] = {"id": user, "is_bot": False, "first_name": name}
    query["message"]["chat"] = _chat(chat)
    query["message"]["message_id"] = message_id
    query["id"] = f"q{next(_ids)}"
    query["data"] = data
    return update


def text(user: int, name: str, chat: int, words: str, reply_to: int | None = None) -> dict:
    """A message (a /command when it starts with /), maybe a reply to the bot's `reply_to`."""
    update = copy.deepcopy(payload("command_message.json"))
    message = update["message"]
    message["from"] = {"id": user, "is_bot": False, "first_name": name}
    message["chat"] = _chat(chat)
    message["text"] = words
    message["message_id"] = next(_ids)
    if words.startswith("/"):
        message["entities"] = [
            {"offset": 0, "length": len(words.split()[0]), "type": "bot_command"}
        ]
    else:
        message.pop("entities", None)
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to,
            "from": {"id": 123456, "is_bot": True, "first_name": "Leadbot"},
            "chat": message["chat"],
            "date": 1700000000,
            "text": "question",
        }
    return update


def bot_membership(chat: int, status: str, *, by: int = BOB, name: str = "Bob") -> dict:
    """`my_chat_member`: the bot's own status in `chat` became `status` (left, kicked,
    member, administrator), changed by user `by`."""
    update = copy.deepcopy(payload("bot_removed_from_group.json"))
    change = update["my_chat_member"]
    change["chat"] = _chat(chat)
    change["from"] = {"id": by, "is_bot": False, "first_name": name}
    old = "left" if status in ("member", "administrator") else "member"
    change["old_chat_member"]["status"] = old
    change["new_chat_member"]["status"] = status
    if status == "kicked":
        change["new_chat_member"]["until_date"] = 0
    if status == "administrator":
        change["new_chat_member"].update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )
    return update
