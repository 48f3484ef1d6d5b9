"""Slack listeners (Bolt `AsyncApp`, over HTTP at `POST /slack/events` or Socket Mode): button
presses (in channels and on the App Home tab), the answer modals, and the `/lead` command.
Thin: acknowledge, find who it is, call the shared press handler or command engine, answer.
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
from bot.domain.offers import Outcome
from bot.handlers.presses import Ask, guarded, press
from bot.handlers.slack.blocks import DECLINE_CALLBACK, ask_view, escape, report_blocks
from bot.handlers.slack.home import publish_home
from bot.handlers.slack.identity import find_actor, resolve_actor
from bot.handlers.slack.workspaces import Workspaces

log = logging.getLogger(__name__)
BUTTON = re.compile(r"^leadbot:\d+$")


def _user(body: dict[str, Any]) -> tuple[str, str]:
    """(user id, the user's own team) of an interaction; a Slack Connect user's team is theirs,
    not the workspace the channel lives in."""
    user = body.get("user") or {}
    team = user.get("team_id") or (body.get("team") or {}).get("id") or ""
    return str(user.get("id", "")), str(team)


def register(app: AsyncApp, services: Services, workspaces: Workspaces) -> None:
    engine = CommandEngine(services, source=Source.SLACK)

    async def actor_of(body: dict[str, Any]) -> Actor | None:
        user, team = _user(body)
        return await find_actor(services, workspaces, user=user, team=team)

    @app.action(BUTTON)
    async def pressed(ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        await ack()
        value = str(body["actions"][0].get("value", ""))
        on_home = (body.get("view") or {}).get("type") == "home"

        async def work() -> Outcome | Ask:
            return await press(services, await actor_of(body), value, source=Source.SLACK)

        result = await guarded(work())
        if isinstance(result, Ask):
            container = body.get("container", {})
            view = ask_view(
                result,
                channel=str(container.get("channel_id", "")),
                message_ts=str(container.get("message_ts", "")),
                home=on_home,
            )
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        elif on_home:  # no message to answer under: the Home tab is drawn again, with the answer
            user, team = _user(body)
            await publish_home(services, workspaces, client, user=user, team=team, note=result)
        elif not result.ok:
            await respond(
                text=escape(result.message), response_type="ephemeral", replace_original=False
            )

    @app.view(DECLINE_CALLBACK)
    async def answered(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        try:
            actor = await actor_of(body)
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
            return
        await ack()
        if meta.get("h"):  # asked from the Home tab: show it as it stands now
            user, team = _user(body)
            await publish_home(services, workspaces, client, user=user, team=team, note=result)

    @app.command("/lead")
    async def command(ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        user = str(body.get("user_id", ""))
        actor, team = await resolve_actor(
            services, workspaces, client, user=user, team=str(body.get("team_id", ""))
        )
        identity = ChatIdentity("slack", user, team)
        report = await engine.run(actor, str(body.get("text", "")), identity=identity)
        text, blocks = report_blocks(report)
        await respond(text=text, blocks=blocks, response_type="ephemeral")
        if report.image_png:
            try:  # to the person, not the channel: the answer itself is private too
                opened = await client.conversations_open(users=user)
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
