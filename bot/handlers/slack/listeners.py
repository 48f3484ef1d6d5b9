"""Slack listeners (Bolt `AsyncApp`, HTTP mode at `POST /slack/events`): button presses, the
answer modals, and the `/lead` command. Thin: acknowledge, find who it is, call the shared
press handler or command engine, answer.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bootstrap import Services
from bot.commands import CommandEngine
from bot.dispatch.linking import ChatIdentity
from bot.domain.actors import Actor, Source
from bot.handlers.presses import Ask, press
from bot.handlers.slack.blocks import DECLINE_CALLBACK, ask_view, escape, report_blocks

log = logging.getLogger(__name__)
BUTTON = re.compile(r"^leadbot:\d+$")


async def find_actor(services: Services, user: dict[str, Any]) -> Actor | None:
    """The member behind a Slack user: linked in leadbot.yaml (no team) or by code (team)."""
    user_id, team = str(user.get("id", "")), str(user.get("team_id", ""))
    async with services.uow() as uow:
        return await uow.members.find_actor(
            platform="slack", external_id=user_id
        ) or await uow.members.find_actor(platform="slack", external_id=user_id, team=team)


def register(app: AsyncApp, services: Services) -> None:
    engine = CommandEngine(services, source=Source.SLACK)

    @app.action(BUTTON)
    async def pressed(ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        await ack()
        actor = await find_actor(services, body["user"])
        value = str(body["actions"][0].get("value", ""))
        result = await press(services, actor, value, source=Source.SLACK)
        if isinstance(result, Ask):
            container = body.get("container", {})
            view = ask_view(
                result,
                channel=str(container.get("channel_id", "")),
                message_ts=str(container.get("message_ts", "")),
            )
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        elif not result.ok:
            await respond(
                text=escape(result.message), response_type="ephemeral", replace_original=False
            )

    @app.view(DECLINE_CALLBACK)
    async def answered(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            actor = await find_actor(services, body["user"])
            meta = json.loads(view.get("private_metadata") or "{}")
            field = view["state"]["values"]["answer"]["answer"]
            answer = (field.get("selected_option") or {}).get("value") or field.get("value") or ""
            result = await press(
                services, actor, str(meta.get("v", "")), source=Source.SLACK, answer=str(answer)
            )
        except Exception:
            log.exception("a modal answer failed")
            await ack(response_action="errors", errors={"answer": "Something went wrong; retry."})
            return
        if isinstance(result, Ask) or not result.ok:
            message = result.message if not isinstance(result, Ask) else "Please answer."
            await ack(response_action="errors", errors={"answer": message[:150]})
        else:
            await ack()

    @app.command("/lead")
    async def command(ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        user = {"id": body.get("user_id", ""), "team_id": body.get("team_id", "")}
        actor = await find_actor(services, user)
        identity = ChatIdentity("slack", str(user["id"]), str(user["team_id"]))
        report = await engine.run(actor, str(body.get("text", "")), identity=identity)
        text, blocks = report_blocks(report)
        await respond(text=text, blocks=blocks, response_type="ephemeral")
        if report.image_png:
            try:  # to the person, not the channel: the answer itself is private too
                opened = await client.conversations_open(users=user["id"])
                await client.files_upload_v2(
                    channel=opened["channel"]["id"],
                    content=report.image_png,
                    filename="leadbot.png",
                    title=report.title[:200],
                )
            except Exception as exc:  # the numbers are already there; the picture is extra
                log.warning("chart upload failed: %r", exc)
                await respond(
                    text="(The chart could not be uploaded here.)", response_type="ephemeral"
                )
