"""The parts of a Telegram update Leadbot reads, with the types the Bot API gives them.

python-telegram-bot builds its objects without checking types, so an update with a user id
that is a list, or a message without a chat, would fail deep inside a handler. `readable`
checks the few fields the handlers use before anything runs; other fields pass unchecked, and
kinds of update Leadbot does not handle are not looked at.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class User(_Part):
    id: StrictInt
    is_bot: StrictBool
    first_name: StrictStr


class Chat(_Part):
    id: StrictInt
    type: StrictStr


class Entity(_Part):
    type: StrictStr
    offset: StrictInt
    length: StrictInt


class Message(_Part):
    message_id: StrictInt
    date: StrictInt
    chat: Chat
    sender: User | None = Field(None, alias="from")
    text: StrictStr | None = None
    entities: list[Entity] | None = None
    reply_to_message: Message | None = None


class Query(_Part):
    id: StrictStr
    sender: User = Field(alias="from")
    chat_instance: StrictStr
    message: Message | None = None
    data: StrictStr | None = None


class Member(_Part):
    status: StrictStr
    user: User


class MemberChange(_Part):
    chat: Chat
    sender: User = Field(alias="from")
    date: StrictInt
    old_chat_member: Member
    new_chat_member: Member


class Update(_Part):
    update_id: StrictInt
    message: Message | None = None
    callback_query: Query | None = None
    my_chat_member: MemberChange | None = None


def readable(data: Any) -> str | None:
    """None when the update has the shape Leadbot reads; else what is wrong, in a few words."""
    try:
        Update.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return None
