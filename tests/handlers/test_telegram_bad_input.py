"""Malformed and forged Telegram updates, posted over real HTTP to /telegram/webhook: each is
refused or answered politely (an alert, a reply) and changes nothing in the database, makes no
other call to the fake Bot API, and logs no error or traceback. Then any shape (hypothesis)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.telegram import FakeTelegram
from tests.factories import SRC, SYSTEM, lead
from tests.fuzzing import DERANDOMIZE, examples
from tests.handlers.badinput import Errors, effects
from tests.handlers.dbstate import snapshot
from tests.handlers.test_slack_payload_fuzz import mutated
from tests.handlers.test_telegram import SECRET, telegram_bot  # noqa: F401 -- the fixture
from tests.handlers.tg_payloads import ACME, BETA, BOB, CARLA, bot_membership, press, text

ALERT, REPLY = {"answerCallbackQuery"}, {"sendMessage"}
EVE = 9999


@dataclass
class Ids:
    offer: int
    lead: int
    beta: int


@dataclass
class Case:
    name: str
    body: Callable[[Ids], Any]  # the JSON to post (a str is sent as it is)
    status: int = 200
    says: str | None = None
    calls: frozenset[str] = frozenset()  # what the bot may call: the polite answer


def tap(user: int, data: Callable[[Ids], str] | str | None, **change: Any) -> Callable:
    def build(ids: Ids) -> dict[str, Any]:
        update = press(user, "Someone", "x", ACME, 500)
        query = update["callback_query"]
        if data is None:
            del query["data"]
        else:
            query["data"] = data(ids) if callable(data) else data
        query.update(change)
        return update

    return build


def said(user: int, words: str, chat: int = ACME) -> Callable:
    return lambda _ids: text(user, "Someone", chat, words)


def alert(name: str, who: int, data: Any, says: str, **change: Any) -> Case:
    return Case(name, tap(who, data, **change), says=says, calls=frozenset(ALERT))


def reply(name: str, who: int, words: str, says: str) -> Case:
    return Case(name, said(who, words), says=says, calls=frozenset(REPLY))


def offer(ids: Ids) -> str:
    return f"o:{ids.offer}:a"


CASES = [
    Case("not JSON", lambda _i: "{nope", 400),
    Case("a JSON list", lambda _i: [1, 2], 400),
    Case("no update_id", lambda _i: {"message": {"text": "/help"}}),
    Case("a press without from", tap(BOB, offer, **{"from": None})),
    Case("a message with a chat of the wrong type", lambda _i: {"update_id": 1, "message": 7}),
    Case("an unknown kind of update", lambda _i: {"update_id": 1, "poll_answer": {"a": 1}}),
    Case("an edited message", lambda i: {"update_id": 1, "edited_message": said(BOB, "/x")(i)}),
    alert("no callback data", BOB, None, "not one of ours"),
    alert("non-numeric offer id", BOB, "o:abc:a", "not one of ours"),
    alert("overlong offer id", BOB, "o:" + "9" * 40 + ":a", "not one of ours"),
    alert("huge callback data", BOB, lambda i: offer(i) + "x" * 5000, "not one of ours"),
    alert("an offer id past the id column", BOB, "o:2147483648:a", "not one of ours"),
    alert("a lead id past the id column", BOB, "l:9999999999:c", "not one of ours"),
    alert("an offer that does not exist", BOB, "o:987654:a", "does not exist"),
    alert("another partner's offer", CARLA, offer, "Not for you"),
    alert("a stranger", EVE, offer, "not linked"),
    alert("a stranger's forged choice", EVE, lambda i: f"o:{i.offer}:d#0", "not linked"),
    alert("another partner's choice", CARLA, lambda i: f"o:{i.offer}:d#0", "Not for you"),
    alert("a stranger's Back", EVE, lambda i: f"o:{i.offer}:d#back", "not linked"),
    alert("Back on an Accept", BOB, lambda i: f"o:{i.offer}:a#back", "not one of ours"),
    alert("assign by a partner", BOB, lambda i: f"a:{i.lead}:{i.beta}", "Only managers"),
    alert("take back by a partner", BOB, lambda i: f"r:{i.lead}", "Only managers"),
    alert("a stage before accept", BOB, lambda i: f"l:{i.lead}:c", "not been accepted"),
    Case("a user id that is not a number", tap("bob", offer)),  # dropped, unread
    Case(
        "Bob's forged choice",
        tap(BOB, lambda i: f"o:{i.offer}:d#99"),
        says="Why?",  # asked again, with the reasons
        calls=frozenset(ALERT | {"editMessageReplyMarkup"}),
    ),
    reply("a huge command", BOB, "/funnel " + "x" * 6000, "too long"),
    reply("a huge start code", EVE, "/start " + "x" * 600, "too long"),
    reply("control characters", BOB, "/funnel \x00\x1b[31m\u202e", "their own funnel"),
    reply("a manager's verb", BOB, "/assign L1 beta", "Not for you"),
    reply("an unknown code", EVE, "/start NOPE", "unknown"),
    Case("a reply to nothing asked", lambda _i: text(BOB, "Bob", ACME, "18000", reply_to=4242)),
    Case("text in a group", said(BOB, "hello <b>there</b>")),
]


async def test_malformed_and_forged_updates_change_nothing(telegram_bot):  # noqa: F811
    fake, services, client = telegram_bot
    stored, _, (offer_id,) = await services.submit_lead(lead("t-b"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        beta = (await uow.partners.get_by_slug("beta"))[0]
    ids, problems = Ids(offer_id, stored.id, beta), []
    for case in CASES:
        body = case.body(ids)
        wrong = await _post(fake, services, client, body, case.calls)
        answers = [str(a.get("text") or "") for m, a in fake.calls[wrong.pop("_calls") :]]
        answers = [a for a in answers if a]
        if (status := wrong.pop("_status")) != case.status:
            wrong["status"] = status
        if (case.says is None) != (not answers) or (
            case.says and not all(case.says.lower() in a.lower() for a in answers)
        ):
            wrong["answer"] = answers
        if wrong:
            problems.append((case.name, wrong))
    assert problems == [], "\n".join(f"{n}: {w}" for n, w in problems)


async def _post(fake: FakeTelegram, services, client, body: Any, polite: frozenset[str]) -> dict:
    before, calls = await snapshot(services), len(fake.calls)
    content = body if isinstance(body, str) else json.dumps(body)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    with Errors() as errors:
        response = await client.post("/telegram/webhook", content=content, headers=headers)
    wrong: dict[str, Any] = {"_calls": calls, "_status": response.status_code}
    if changes := await effects(services, before):
        wrong["database"] = changes
    if other := [m for m, _a in fake.calls[calls:] if m not in polite | {"getMe"}]:
        wrong["calls"] = other
    if errors.said():
        wrong["errors"] = errors.said()
    return wrong


async def test_a_wrong_or_missing_secret_is_403_before_anything_is_read(telegram_bot):  # noqa: F811
    fake, _services, client = telegram_bot
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
        response = await client.post("/telegram/webhook", content="{nope", headers=headers)
        assert response.status_code == 403
    assert fake.calls == [] or {m for m, _a in fake.calls} <= {"getMe"}


def _bases() -> dict[str, dict[str, Any]]:
    return {
        "press": press(EVE, "Eve", "o:1:a", BETA, 500),
        "command": text(EVE, "Eve", BETA, "/open"),
        "reply": text(EVE, "Eve", BETA, "18000", reply_to=501),
    }


def test_updates_of_any_shape_change_nothing(database_url, clock):
    """A stranger's press, command and reply, with fields dropped or replaced by any JSON."""
    bases = {
        "press": press(EVE, "Eve", "o:1:a", BETA, 500),
        "command": text(EVE, "Eve", BETA, "/open"),
        "reply": text(EVE, "Eve", BETA, "18000", reply_to=501),
        "member": bot_membership(ACME, "member", by=EVE),  # the bot added: says where it is
    }
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        bot = contextlib.asynccontextmanager(telegram_bot.__wrapped__)  # the fixture, by hand
        fake, services, client = runner.run(stack.enter_async_context(bot(database_url, clock)))

        @settings(
            max_examples=examples(60),
            derandomize=DERANDOMIZE,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data(), kind=st.sampled_from(sorted(bases)))
        def posted(data: st.DataObject, kind: str) -> None:
            body = data.draw(mutated(bases[kind]))
            polite = frozenset(ALERT | REPLY | {"editMessageReplyMarkup"})
            wrong = runner.run(_post(fake, services, client, body, polite))
            assert wrong.pop("_status") < 500 and not wrong.pop("_calls") < 0, body
            assert wrong == {}, (body, wrong)

        try:
            posted()
        finally:
            runner.run(stack.aclose())
