"""Reading Slack's payloads without trusting their shape, and refusing at the door what Bolt
could not read.

Slack signs what it sends, but a payload can still lack a field or carry one of another type
(an old client, a retried request, someone holding the signing secret). Listeners read fields
with `part` and `text`, which answer `{}` or `""` then; `refusal` turns away, before Bolt, a
request that is unsigned (401) or is not a Slack request at all (400), which Bolt would answer
with a 500 and a traceback in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)
IDS = (  # what Bolt takes out of a payload to route and answer it
    *("team_id", "user_id", "channel_id", "enterprise_id", "thread_ts", "response_url"),
    *("actor_team_id", "actor_user_id", "actor_enterprise_id"),
)
# what Bolt matches listeners on, by payload type (it reads them without looking)
VIEW = (("view", "type"), ("view", "callback_id"))
NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "event_callback": (("event", "type"),),
    "view_submission": VIEW,
    "view_closed": VIEW,
    "shortcut": (("callback_id",),),
    "message_action": (("callback_id",),),
}


def part(body: Any, *path: str) -> dict[str, Any]:
    """The object at `path`, or {} when a step is missing or not an object."""
    for key in path:
        body = body.get(key) if isinstance(body, dict) else None
    return body if isinstance(body, dict) else {}


def text(body: Any, *path: str) -> str:
    """The string at `path`, or "" when a step is missing or the value is not a string."""
    *parents, last = path
    value = part(body, *parents).get(last)
    return value if isinstance(value, str) else ""


def _readable(raw: str, headers: dict[str, str | Sequence[str]]) -> bool:
    """Whether Bolt can take this request apart: it parses to an object, the ids Bolt pulls out
    of it (team, user, channel, enterprise, response URL) are strings, and the parts its
    listeners are matched on are there: an event's type, a modal's callback id, each action's
    action id (in a non-empty list)."""
    try:
        request = AsyncBoltRequest(body=raw, headers=headers)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return False
    payload, context = request.body, request.context
    if not isinstance(payload, dict):
        return False
    if any(context.get(key) is not None and not isinstance(context[key], str) for key in IDS):
        return False
    kind = payload.get("type")
    needs = NEEDS.get(kind if isinstance(kind, str) else "", ())
    if "event" in payload:
        needs += (("event", "type"),)
    if not all(text(payload, *path) for path in needs):
        return False
    actions = payload.get("actions")
    return "actions" not in payload or (
        isinstance(actions, list)
        and bool(actions)
        and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
    )


async def refusal(request: Request, verifier: SignatureVerifier) -> Response | None:
    """401 unsigned or stale, 400 unreadable, None: hand the request to Bolt."""
    body = await request.body()  # kept by Starlette: Bolt reads it again
    if not verifier.is_valid_request(body, dict(request.headers)):
        return JSONResponse({"detail": "invalid or stale Slack signature"}, status_code=401)
    try:
        raw = body.decode()
    except UnicodeDecodeError:
        raw = None
    if raw is None or not _readable(raw, dict(request.headers)):
        log.warning("a signed Slack request Leadbot cannot read was refused (%d bytes)", len(body))
        return JSONResponse({"detail": "not a Slack request Leadbot can read"}, status_code=400)
    return None
