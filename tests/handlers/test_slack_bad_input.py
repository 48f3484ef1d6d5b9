"""Malformed and forged Slack requests, signed (so they reach Bolt and our listeners) and posted
over real HTTP to /slack/events: each is refused or answered politely, and changes nothing —
not the database, not what the fake Slack was asked to do — and logs no error or traceback."""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack import FakeSlack, form, sign
from tests.factories import SRC, SYSTEM, lead
from tests.handlers.badinput import Errors, effects, settled
from tests.handlers.dbstate import snapshot
from tests.handlers.test_slack import PAYLOADS, SECRET, payload, press_body, running

READ_ONLY = {"users.info", "auth.test"}  # looking someone up is not a side effect
TS = "1700000000.000100"


@dataclass
class Ids:
    offer: int  # Acme's pending offer (Bob may answer it)
    lead: int
    beta: int  # Beta's partner id


@dataclass
class Case:
    name: str
    request: Callable[[FakeSlack, Ids], tuple[str, dict[str, str]]]  # (body, headers)
    status: int = 200
    says: str | None = None  # the one polite answer expected (a reply, or the modal's error)


def signed(body: str, **headers: str) -> tuple[str, dict[str, str]]:
    return body, {**sign(SECRET, body), **headers}


def pressed(who: str, value: Any, *, of: str = "T1DC2JH3J", **change: Any) -> Callable:
    def build(fake: FakeSlack, ids: Ids) -> tuple[str, dict[str, str]]:
        text = value(ids) if callable(value) else value
        body = press_body(fake, who, "o:0:a", "C0ACME", TS, team=of)
        body["actions"][0]["value"] = text
        for key, new in change.items():
            if new is None:
                body.pop(key, None)
            else:
                body[key] = new
        return signed(form(body))

    return build


def submitted(who: str, meta: Any, answer: Any, **change: Any) -> Callable:
    def build(_fake: FakeSlack, ids: Ids) -> tuple[str, dict[str, str]]:
        body = copy.deepcopy(payload("view_submission.json"))
        body["user"] = {"id": who, "team_id": "T1DC2JH3J"}
        body["view"]["callback_id"] = "leadbot_answer"
        body["view"]["private_metadata"] = meta(ids) if callable(meta) else meta
        field = {"type": "plain_text_input", "value": answer}
        body["view"]["state"] = {"values": {"answer": {"answer": field}}}
        body["view"].update(change)
        return signed(form(body))

    return build


def command(who: str | None, text: str, **change: str) -> Callable:
    def build(fake: FakeSlack, _ids: Ids) -> tuple[str, dict[str, str]]:
        fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command.form").read_text()))
        fields.update({"text": text, "response_url": f"{fake.url}/respond/cmd", **change})
        if who is None:
            del fields["user_id"]
        else:
            fields["user_id"] = who
        return signed(urllib.parse.urlencode(fields))

    return build


def event(kind: str, **fields: Any) -> Callable:
    def build(_fake: FakeSlack, _ids: Ids) -> tuple[str, dict[str, str]]:
        body = {"type": "event_callback", "team_id": "T1DC2JH3J", "api_app_id": "A0LEADBOT"}
        body.update(event={"type": kind, **fields.pop("event", {})}, event_id="Ev1", **fields)
        return signed(json.dumps(body), **{"Content-Type": "application/json"})

    return build


def raw(body: str, status: int, **headers: str) -> Case:
    return Case(f"raw {body[:20]!r}", lambda _f, _i: signed(body, **headers), status)


def own(ids: Ids) -> str:
    return f"o:{ids.offer}:a"


CASES = [
    Case("stale timestamp", lambda f, i: ("a=b", sign(SECRET, "a=b", timestamp=1531420618)), 401),
    Case("no signature", lambda f, i: ("payload=%7B%7D", {}), 401),
    Case("forged signature", lambda f, i: ("a=b", sign("not-the-secret", "a=b")), 401),
    raw("%%%not a form%%%", 404),
    raw("payload=%7Bnot-json", 400),
    raw("payload=%5B1%2C2%5D", 400),
    raw(json.dumps([1, 2]), 400, **{"Content-Type": "application/json"}),
    raw("payload=" + urllib.parse.quote(json.dumps({"type": "block_actions", "user": 7})), 400),
    Case("body over 64 KB", lambda f, i: signed("payload=" + "x" * 70_000), 413),
    Case("a press with no user", pressed("U0BOB", own, user=None), says="not linked"),
    Case("a press with no actions", pressed("U0BOB", own, actions=[]), 400),
    Case("an unknown action id", pressed("U0BOB", own, actions=[{"action_id": "x:1"}]), 404),
    Case("no value", pressed("U0BOB", None), says="not one of ours"),
    Case("a value of the wrong type", pressed("U0BOB", ["o", 1]), says="not one of ours"),
    Case("a non-numeric offer id", pressed("U0BOB", "o:abc:a"), says="not one of ours"),
    Case("an overlong offer id", pressed("U0BOB", "o:" + "9" * 40 + ":a"), says="not one of ours"),
    Case("a huge value", pressed("U0BOB", lambda i: own(i) + "x" * 20_000), says="not one of"),
    Case("an offer that does not exist", pressed("U0BOB", "o:987654:a"), says="does not exist"),
    Case("another partner's offer", pressed("U0CARLA", own), says="Not for you"),
    Case("a stranger", pressed("U0EVE", own), says="not linked"),
    Case("Bob from another workspace", pressed("U0BOB", own, of="T0OTHER"), says="not linked"),
    Case("assign by a partner", pressed("U0BOB", lambda i: f"a:{i.lead}:{i.beta}"), says="Only"),
    Case("take back by a partner", pressed("U0BOB", lambda i: f"r:{i.lead}"), says="Only"),
    Case("a stage before accept", pressed("U0BOB", lambda i: f"l:{i.lead}:c"), says="not been"),
    Case(
        "a decline without trigger_id",
        pressed("U0BOB", lambda i: f"o:{i.offer}:d", trigger_id=None),
        says="again",
    ),
    Case("a container of the wrong type", pressed("U0EVE", own, container="x"), says="not linked"),
    Case("a user of the wrong type", pressed("U0BOB", own, user="U0BOB"), says="not linked"),
    Case("a team id of the wrong type", pressed("U0BOB", own, team={"id": [None]}), 400),
    Case("modal: no state", submitted("U0BOB", "{}", "x", state=None), says="not one of ours"),
    Case("modal: metadata not JSON", submitted("U0BOB", "{nope", "x"), says="not one of ours"),
    Case("modal: metadata a list", submitted("U0BOB", "[1]", "x"), says="not one of ours"),
    Case(
        "modal: another partner's offer",
        submitted("U0CARLA", lambda i: json.dumps({"v": f"o:{i.offer}:d"}), "spam"),
        says="Not for you",
    ),
    Case(
        "modal: a reason not offered",
        submitted("U0BOB", lambda i: json.dumps({"v": f"o:{i.offer}:d"}), "<!channel>"),
        says="not a decline reason",
    ),
    Case(
        "modal: an answer of the wrong type",
        submitted("U0BOB", lambda i: json.dumps({"v": f"o:{i.offer}:d"}), {"a": 1}),
        says="not a decline reason",
    ),
    Case("command: no user", command(None, "help"), says="not linked"),
    Case("command: huge text", command("U0BOB", "funnel " + "x" * 5000), says="too long"),
    Case("command: control characters", command("U0BOB", "\x00\x1b[31m\u202e"), says="Unknown"),
    Case("command: a manager verb", command("U0BOB", "assign L1 beta"), says="Not for you"),
    Case("command: no response_url", command("U0BOB", "help", response_url="")),
    Case(
        "command: a stranger elsewhere",
        command("U0ZED", "help", team_id="T0OTHER"),
        says="not linked",
    ),
    Case(
        "command: Bob's id elsewhere",
        command("U0BOB", "open", team_id="T0OTHER"),
        says="not linked",
    ),
    Case("event: unknown kind", event("reaction_added", event={"user": "U0BOB"}), 404),
    Case("event: App Home with no user", event("app_home_opened")),
    Case("event: tokens_revoked, bad shape", event("tokens_revoked", event={"tokens": "all"})),
    Case("event: uninstalled, no team", event("app_uninstalled", team_id="")),
    Case("event: uninstalled elsewhere", event("app_uninstalled", team_id="T0OTHER")),
]


async def test_malformed_and_forged_requests_change_nothing(database_url, clock):
    async with running(database_url, clock) as (fake, services, client, _slack):
        stored, _, (offer_id,) = await services.submit_lead(lead("b-1"), actor=SYSTEM, source=SRC)
        async with services.uow() as uow:
            beta = (await uow.partners.get_by_slug("beta"))[0]
        ids = Ids(offer=offer_id, lead=stored.id, beta=beta)
        fake.user_teams["U0BOB"] = "T0OTHER"  # users.info: that U0BOB is of the other workspace
        problems = []
        for case in CASES:
            before, calls, answers = await snapshot(services), len(fake.calls), len(fake.responses)
            body, headers = case.request(fake, ids)
            with Errors() as errors:
                response = await client.post("/slack/events", content=body, headers=headers)
                await settled()
            said = [r.get("text", "") for r in fake.responses[answers:]]
            if response.content and response.headers.get("content-type", "").startswith("app"):
                said += [json.dumps(response.json().get("errors", ""))]
            said = [s for s in said if s and s != '""']
            new_calls = [c.method for c in fake.calls[calls:] if c.method not in READ_ONLY]
            wrong = {
                "status": response.status_code if response.status_code != case.status else None,
                "database": await effects(services, before) or None,
                "calls": new_calls or None,
                "errors": errors.said() or None,
                "answer": said if (case.says is None) != (not said) else None,
            }
            if case.says and said and not all(case.says.lower() in s.lower() for s in said):
                wrong["answer"] = said
            if any(fake.responses[answers:]) and any(
                r.get("response_type") != "ephemeral" for r in fake.responses[answers:]
            ):
                wrong["public"] = fake.responses[answers:]
            if any(v is not None for v in wrong.values()):
                problems.append((case.name, {k: v for k, v in wrong.items() if v is not None}))
        assert problems == [], "\n".join(f"{n}: {w}" for n, w in problems)
