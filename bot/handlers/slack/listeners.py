"""Slack listeners (Bolt `AsyncApp`, over HTTP at `POST /slack/events` or Socket Mode): button
presses (in channels and on the App Home tab), the answer modals, and the `/lead` command.
Thin: acknowledge, find who it is, call the shared press handler or command engine, answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp

from bot.bootstrap import Services
from bot.commands import CommandEngine
from bot.dispatch.chats import is_managers_chat
from bot.dispatch.linking import ChatIdentity
from bot.domain.actors import Actor, Source
from bot.domain.offers import Outcome
from bot.handlers.presses import Ask, guarded, press
from bot.handlers.slack.blocks import DECLINE_CALLBACK, ask_view, escape, report_blocks
from bot.handlers.slack.home import publish_home
from bot.handlers.slack.identity import find_actor, resolve_actor
from bot.handlers.slack.payload import part, text
from bot.handlers.slack.workspaces import Workspaces

log = logging.getLogger(__name__)
BUTTON = re.compile(r"^leadbot:\d+$")
ACK_WITHIN = 2.0  # seconds: Slack drops a modal answer not acknowledged within 3
AGAIN = "Slack did not say where to ask the question; press the button again."


def typed(escaped: str) -> str:
    """A slash command's text as the person typed it: Slack sends &, < and > as &amp;, &lt; and
    &gt; (and nothing else), so `funnel a&b` reaches us as `funnel a&amp;b`."""
    return escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _answerable(body: dict[str, Any]) -> bool:
    return text(body, "response_url").startswith(("https://", "http://"))


async def _reply(
    respond: Any, body: dict[str, Any], *, public: bool = False, **message: Any
) -> None:
    """Answer at the request's response URL, privately unless `public`; one that does not work
    is logged, not raised (what was pressed or typed is done and stored either way)."""
    if not _answerable(body):
        log.warning("a Slack request without a usable response_url got no answer")
        return
    try:
        await respond(response_type="in_channel" if public else "ephemeral", **message)
    except aiohttp.ClientError as exc:
        log.warning("slack: answering at the response URL failed: %r", exc)


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """What the modal carries from the press (the button value, where, whether from Home)."""
    try:
        found = json.loads(text(view, "private_metadata") or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _user(body: dict[str, Any]) -> tuple[str, str]:
    """(user id, the user's own team) of an interaction; a Slack Connect user's team is theirs,
    not the workspace the channel lives in."""
    team = text(body, "user", "team_id") or text(body, "team", "id")
    return text(body, "user", "id"), team


def register(app: AsyncApp, services: Services, workspaces: Workspaces) -> None:
    engine = CommandEngine(services, source=Source.SLACK)
    running: set[asyncio.Future[Outcome | Ask]] = set()  # modal answers that outran ACK_WITHIN

    def _finished(work: asyncio.Future[Outcome | Ask]) -> None:
        running.discard(work)
        if not work.cancelled() and work.exception() is not None:
            log.error("a slow modal answer failed", exc_info=work.exception())

    async def actor_of(body: dict[str, Any]) -> Actor | None:
        user, team = _user(body)
        return await find_actor(services, workspaces, user=user, team=team)

    @app.action(BUTTON)
    async def pressed(ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        await ack()
        value = str(body["actions"][0].get("value", ""))
        on_home = text(body, "view", "type") == "home"

        async def work() -> Outcome | Ask:
            return await press(services, await actor_of(body), value, source=Source.SLACK)

        result = await guarded(work())
        if isinstance(result, Ask) and not text(body, "trigger_id"):  # no way to open a form
            await _reply(respond, body, text=AGAIN, replace_original=False)
        elif isinstance(result, Ask):
            view = ask_view(
                result,
                channel=text(body, "container", "channel_id"),
                message_ts=text(body, "container", "message_ts"),
                home=on_home,
            )
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        elif on_home:  # no message to answer under: the Home tab is drawn again, with the answer
            user, team = _user(body)
            await publish_home(services, workspaces, client, user=user, team=team, note=result)
        elif not result.ok:
            await _reply(respond, body, text=escape(result.message), replace_original=False)

    @app.view(DECLINE_CALLBACK)
    async def answered(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        try:
            actor = await actor_of(body)
            field = part(view, "state", "values", "answer", "answer")
            answer = text(field, "selected_option", "value") or text(field, "value")
            value = text(_metadata(view), "v")
            work = asyncio.ensure_future(
                guarded(press(services, actor, value, source=Source.SLACK, answer=answer))
            )
            async with asyncio.timeout(ACK_WITHIN):  # Slack waits 3 s for a modal's answer
                result = await asyncio.shield(work)  # never cut off inside its transaction
        except TimeoutError:  # slow (a busy database): close the modal, the card shows the rest
            await ack()
            running.add(work)
            work.add_done_callback(_finished)
            return
        except Exception:
            log.exception("a modal answer failed")
            await ack(response_action="errors", errors={"answer": "Something went wrong; retry."})
            return
        if isinstance(result, Ask) or not result.ok:
            message = result.message if not isinstance(result, Ask) else "Please answer."
            await ack(response_action="errors", errors={"answer": message[:150]})
            return
        await ack()
        if _metadata(view).get("h"):  # asked from the Home tab: show it as it stands now
            user, team = _user(body)
            await publish_home(services, workspaces, client, user=user, team=team, note=result)

    @app.command("/lead")
    async def command(ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        if not _answerable(body):  # nowhere to answer: do nothing unseen
            log.warning("a /lead command without a response_url was ignored")
            return
        user = text(body, "user_id")
        actor, team = await resolve_actor(
            services, workspaces, client, user=user, team=text(body, "team_id")
        )
        identity = ChatIdentity("slack", user, team)
        report = await engine.run(actor, typed(text(body, "text")), identity=identity)
        channel = text(body, "channel_id")
        # a manager's report or change, asked in the managers' own channel, is for all of them;
        # anything else is answered privately (a partner's numbers stay with its people)
        public = bool(
            report.shareable
            and actor is not None
            and actor.is_manager
            and await services.run(is_managers_chat, platform="slack", chat_id=channel)
        )
        fallback, blocks = report_blocks(report)
        await _reply(respond, body, public=public, text=fallback, blocks=blocks)
        if report.image_png:
            try:  # where the answer went: the channel, or the person who asked
                if public:
                    where = channel
                else:
                    where = (await client.conversations_open(users=user))["channel"]["id"]
                await client.files_upload_v2(
                    channel=where,
                    content=report.image_png,
                    filename="leadbot.png",
                    title=report.title[:200],
                )
            except Exception as exc:  # the numbers are already there; the picture is extra
                log.warning("chart upload failed: %r", exc)
                await _reply(respond, body, text="(The chart could not be uploaded here.)")
