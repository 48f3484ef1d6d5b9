"""Reading Slack's payloads without trusting their shape, and refusing at the door what Bolt
could not read.

Slack signs what it sends, but a payload can still lack a field or carry one of another type
(an old client, a retried request, someone holding the signing secret). Listeners read fields
with `part` and `text`, which answer `{}` or `""` then; `refusal` turns away, before Bolt, a
request that is unsigned (401) or is not a Slack request at all (400), which Bolt would answer
with a 500 and a traceback in the log.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)
OBJECTS = ("user", "team", "channel", "container", "view", "message", "event", "enterprise")


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


def _readable(payload: Any) -> bool:
    """Whether Bolt can take this payload apart: an object, whose well-known parts are objects,
    and whose actions (if any) are a non-empty list of objects."""
    if not isinstance(payload, dict):
        return False
    if any(payload.get(key) is not None and not isinstance(payload[key], dict) for key in OBJECTS):
        return False
    actions = payload.get("actions")
    return actions is None or (
        isinstance(actions, list) and bool(actions) and all(isinstance(a, dict) for a in actions)
    )


async def refusal(request: Request, verifier: SignatureVerifier) -> Response | None:
    """401 unsigned or stale, 400 unreadable, None: hand the request to Bolt."""
    body = await request.body()  # kept by Starlette: Bolt reads it again
    if not verifier.is_valid_request(body, dict(request.headers)):
        return JSONResponse({"detail": "invalid or stale Slack signature"}, status_code=401)
    try:
        payload = parse_body(body.decode(), request.headers.get("content-type"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = None
    if not _readable(payload):
        log.warning("a signed Slack request Leadbot cannot read was refused (%d bytes)", len(body))
        return JSONResponse({"detail": "not a Slack request Leadbot can read"}, status_code=400)
    return None
