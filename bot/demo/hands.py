"""The simulated people's fingers: button presses and answers, sent to Leadbot's own HTTP server
the way Slack and Telegram send them (signed interaction payloads to `/slack/events`, updates
to `/telegram/webhook` with the secret header), in the shapes of ../shared/payloads.
"""

from __future__ import annotations

import itertools
import time
import urllib.parse
from typing import Any

import httpx

from bot.sandbox.slack import form, sign

TEAM = {"id": "T1DC2JH3J", "domain": "sandbox"}  # the sandbox workspace (its auth.test team)
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Leadbot", "username": "leadbot_bot"}
_ids = itertools.count(1)


class SlackHand:
    """One Slack user pressing buttons and submitting modals."""

    def __init__(self, client: httpx.AsyncClient, secret: str, sandbox_url: str) -> None:
        self.client, self.secret, self.sandbox_url = client, secret, sandbox_url

    def _user(self, user: str, name: str) -> dict[str, Any]:
        return {"id": user, "username": name.lower(), "name": name, "team_id": TEAM["id"]}

    async def _post(self, payload: dict[str, Any]) -> int:
        body = form(payload)
        response = await self.client.post(
            "/slack/events", content=body, headers=sign(self.secret, body)
        )
        return response.status_code

    async def press(
        self, user: str, name: str, *, value: str, label: str, channel: str, ts: str
    ) -> str:
        """Press a button on a message; returns the trigger id a modal would be opened with."""
        trigger = f"{next(_ids)}.{int(time.time())}.demo"
        payload = {
            "type": "block_actions",
            "user": self._user(user, name),
            "api_app_id": "A0LEADBOT",
            "token": "sandbox",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "trigger_id": trigger,
            "team": TEAM,
            "channel": {"id": channel, "name": channel.lower()},
            "message": {"type": "message", "ts": ts, "text": "", "blocks": []},
            "state": {"values": {}},
            "response_url": f"{self.sandbox_url}/respond/{user}",
            "actions": [
                {
                    "action_id": "leadbot:0",
                    "block_id": "leadbot_buttons",
                    "text": {"type": "plain_text", "text": label},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        await self._post(payload)
        return trigger

    async def command(self, user: str, name: str, *, channel: str, text: str) -> int:
        """Type `/lead <text>` in a channel (the answer goes to the response URL)."""
        fields = {
            "token": "sandbox",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": user,
            "user_name": name.lower(),
            "command": "/lead",
            "text": text,
            "api_app_id": "A0LEADBOT",
            "is_enterprise_install": "false",
            "response_url": f"{self.sandbox_url}/respond/{user}",
            "trigger_id": f"{next(_ids)}.demo",
        }
        body = urllib.parse.urlencode(fields)
        response = await self.client.post(
            "/slack/events", content=body, headers=sign(self.secret, body)
        )
        return response.status_code

    async def submit(self, user: str, name: str, view: dict[str, Any], answer: str) -> int:
        """Submit the modal Leadbot opened, choosing or typing `answer`."""
        element = view["blocks"][0]["element"]
        if element["type"] == "static_select":
            field = {"type": "static_select", "selected_option": {"value": answer}}
        else:
            field = {"type": "plain_text_input", "value": answer}
        payload = {
            "type": "view_submission",
            "team": TEAM,
            "user": self._user(user, name),
            "api_app_id": "A0LEADBOT",
            "token": "sandbox",
            "trigger_id": f"{next(_ids)}.demo",
            "view": {
                "id": f"V{next(_ids)}",
                "team_id": TEAM["id"],
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {"values": {"answer": {"answer": field}}},
            },
            "response_urls": [],
        }
        return await self._post(payload)


class TelegramHand:
    """One Telegram user pressing inline buttons and replying to the bot's questions."""

    def __init__(self, client: httpx.AsyncClient, secret: str) -> None:
        self.client, self.secret = client, secret

    async def _send(self, update: dict[str, Any]) -> int:
        update["update_id"] = 10_000 + next(_ids)
        response = await self.client.post(
            "/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
        )
        return response.status_code

    @staticmethod
    def _chat(chat: str) -> dict[str, Any]:
        if chat.startswith("-"):
            return {"id": int(chat), "title": "sandbox group", "type": "supergroup"}
        return {"id": int(chat), "type": "private", "first_name": "you"}

    async def press(self, user: int, name: str, *, data: str, chat: str, message_id: str) -> int:
        return await self._send(
            {
                "callback_query": {
                    "id": f"q{next(_ids)}",
                    "from": {"id": user, "is_bot": False, "first_name": name},
                    "message": {
                        "message_id": int(message_id),
                        "from": BOT_USER,
                        "chat": self._chat(chat),
                        "date": int(time.time()),
                        "text": "lead",
                    },
                    "chat_instance": "-8327843597293758493",
                    "data": data,
                }
            }
        )

    async def reply(self, user: int, name: str, *, chat: str, to: str, text: str) -> int:
        return await self._send(
            {
                "message": {
                    "message_id": 100_000 + next(_ids),
                    "from": {"id": user, "is_bot": False, "first_name": name},
                    "chat": self._chat(chat),
                    "date": int(time.time()),
                    "text": text,
                    "reply_to_message": {
                        "message_id": int(to),
                        "from": BOT_USER,
                        "chat": self._chat(chat),
                        "date": int(time.time()),
                        "text": "question",
                    },
                }
            }
        )
