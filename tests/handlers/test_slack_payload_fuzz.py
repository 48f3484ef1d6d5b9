"""Slack's own payload shapes with fields dropped or replaced by any JSON (hypothesis), signed
and posted over real HTTP: a press, a modal answer and a command by someone not linked, and the
events Leadbot listens to. Never a 5xx, never an error in the log, nothing changed; whatever
is said back is private."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.slack import form, sign
from tests.factories import SRC, SYSTEM, lead
from tests.fuzzing import DERANDOMIZE, examples
from tests.handlers.badinput import Errors, effects, settled
from tests.handlers.dbstate import snapshot
from tests.handlers.test_slack import PAYLOADS, SECRET, payload, press_body, running

POLITE = {"users.info", "auth.test", "views.publish"}  # a stranger's Home: how to link
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside `doc`."""
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for n, value in enumerate(doc):
            found += paths(value, (*prefix, n))
    return found


@st.composite
def mutated(draw: Any, base: Any) -> Any:
    """`base` with one to three of its values dropped or replaced."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        where = paths(doc)
        if not where:
            break
        *parent_path, last = draw(st.sampled_from(where))
        parent = doc
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[last]
        else:
            parent[last] = draw(json_values)
    return doc


def bases(fake_url: str, offer: int) -> dict[str, Any]:
    press = press_body(_Fake(fake_url), "U0EVE", f"o:{offer}:d", "C0ACME", "1700000000.000100")
    modal = copy.deepcopy(payload("view_submission.json"))
    modal["user"]["id"] = "U0EVE"
    modal["view"].update(callback_id="leadbot_answer", private_metadata=json.dumps({"v": "o:1:d"}))
    fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text().strip()))
    fields.update(user_id="U0EVE", response_url=f"{fake_url}/respond/cmd")
    home = {"type": "event_callback", "team_id": "T1DC2JH3J", "event_id": "Ev1"}
    home["event"] = {"type": "app_home_opened", "user": "U0EVE", "tab": "home"}
    gone = {**home, "event": {"type": "tokens_revoked", "tokens": {"oauth": ["U0EVE"]}}}
    return {"press": press, "modal": modal, "command": fields, "home": home, "gone": gone}


class _Fake:
    def __init__(self, url: str) -> None:
        self.url = url


def encode(kind: str, doc: Any) -> tuple[str, dict[str, str]]:
    if kind in ("press", "modal"):
        body = form(doc) if isinstance(doc, dict) else "payload=" + urllib.parse.quote(str(doc))
        return body, sign(SECRET, body)
    if kind == "command":
        fields = doc if isinstance(doc, dict) else {}
        body = urllib.parse.urlencode({str(k): str(v) for k, v in fields.items()})
        return body, sign(SECRET, body)
    body = json.dumps(doc)
    return body, {**sign(SECRET, body), "Content-Type": "application/json"}


def test_slack_payloads_of_any_shape_change_nothing(database_url, clock):
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        fake, services, client, _http = runner.run(
            stack.enter_async_context(running(database_url, clock))
        )
        _, _, (offer,) = runner.run(services.submit_lead(lead("z-1"), actor=SYSTEM, source=SRC))
        docs = bases(fake.url, offer)

        async def post(kind: str, doc: Any) -> None:
            before, calls = await snapshot(services), len(fake.calls)
            answers = len(fake.responses)
            body, headers = encode(kind, doc)
            with Errors() as errors:
                response = await client.post("/slack/events", content=body, headers=headers)
                await settled()
            assert response.status_code < 500, (kind, doc, response.text)
            assert errors.said() == [], (kind, doc)
            assert await effects(services, before) == {}, (kind, doc)
            assert {c.method for c in fake.calls[calls:]} <= POLITE, (kind, doc)
            assert all(r.get("response_type") == "ephemeral" for r in fake.responses[answers:])

        @settings(
            max_examples=examples(60),
            derandomize=DERANDOMIZE,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data(), kind=st.sampled_from(sorted(docs)))
        def posted(data: st.DataObject, kind: str) -> None:
            runner.run(post(kind, data.draw(mutated(docs[kind]))))

        try:
            posted()
        finally:
            runner.run(stack.aclose())
