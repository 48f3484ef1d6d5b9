"""The command parser under any text (hypothesis): unicode, control characters, quotes, huge
strings and thousands of words, typed by every kind of person. The engine never raises and
never logs an error; it answers with a short usage line or a report; and for someone it
refuses, the database is exactly as before.

Charts are stubbed here (drawing one costs a tenth of a second; they have their own tests):
what is fuzzed is the parsing and the checks in front of every verb.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import commands
from bot.bootstrap import build
from bot.clock import FakeClock
from bot.command_grammar import VERBS
from bot.commands import CommandEngine
from bot.config import Settings
from bot.dispatch import accept_offer
from bot.dispatch.linking import ChatIdentity
from bot.domain.actors import Source
from tests.factories import SRC, SYSTEM, actor_for, apply, config, lead, partner
from tests.fakes import RecordingMessenger
from tests.fuzzing import DERANDOMIZE, examples
from tests.handlers.dbstate import changed, snapshot

TOKENS = [*VERBS, "start", "HELP", "/lead", "acme", "beta", "all", "7d", "30d", "0d", "9999d"]
TOKENS += ["2026-02", "2026-13", "2026-01-01..2026-01-31", "until", "2026-12-31", "by", "source"]
TOKENS += ["on", "off", "0", "12", "-1", "1e9", "DE-80331", "80331", "heat-pump", '"', "'", "\\"]
TOKENS += ["<!channel>", "<@U0BOB>", "</b>", "&amp;", "\u202e", "\u200b", "\x00", "\n", "😀"]
words = st.sampled_from(TOKENS) | st.text(max_size=20)
lines = st.one_of(
    st.text(max_size=200),  # anything at all, control characters included
    st.lists(words, max_size=8).map(" ".join),  # near misses of real commands
    st.builds(lambda v, ws: " ".join([v, *ws]), st.sampled_from(list(VERBS)), st.lists(words)),
    st.builds(lambda w, n: w * n, st.text(min_size=1, max_size=4), st.integers(500, 30_000)),
    st.builds(lambda w, n: " ".join([w] * n), words, st.integers(50, 3000)),  # many words
    st.builds(  # a real verb with a huge argument, or thousands of them
        lambda v, w, n, many: f"{v} " + (" ".join([w] * n) if many else w * n),
        st.sampled_from(list(VERBS)),
        st.sampled_from(TOKENS) | st.text(min_size=1, max_size=4),
        st.integers(300, 30_000),
        st.booleans(),
    ),
)
ROLES = ["manager", "partner admin", "partner rep", "other partner's admin", "unlinked"]


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _setup(url: str):
    services = build(
        Settings(database_url=url, _env_file=None),  # type: ignore[call-arg]
        messengers={"slack": RecordingMessenger("slack")},
        clock=FakeClock(),
    )
    acme = partner("acme")
    acme["members"].append({"name": "Rita Rep", "slack": "URITA", "role": "partner_rep"})
    await apply(services, config([acme, partner("beta", territories=["DE:81"])]))
    for n in range(2):
        _, _, offers = await services.submit_lead(lead(f"c-{n}"), actor=SYSTEM, source=SRC)
    admin = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offers[0], actor=admin, source=SRC)).ok
    people = {
        "manager": await actor_for(services, "U0ADA"),
        "partner admin": admin,
        "partner rep": await actor_for(services, "URITA"),
        "other partner's admin": await actor_for(services, "UBETA"),
        "unlinked": None,
    }
    return services, people


def _refused(actor, line: str) -> bool:
    """Whether the engine must turn `line` away before doing anything, for this actor."""
    words = line.split()
    verb = words[0].lower() if words else "help"
    spec = VERBS.get(verb)
    if spec is None:
        return True
    if actor is None:
        return verb != "link"
    return actor.role not in spec.roles


@pytest.mark.parametrize("role", ROLES)
def test_any_text_gets_a_short_answer_and_refusals_change_nothing(database_url, role, monkeypatch):
    monkeypatch.setattr(commands, "funnel_chart", lambda *_a, **_k: b"png")
    monkeypatch.setattr(commands, "comparison_chart", lambda *_a, **_k: b"png")
    errors = Errors()
    logging.getLogger().addHandler(errors)
    with asyncio.Runner() as runner:
        services, people = runner.run(_setup(database_url))
        actor = people[role]
        engine = CommandEngine(services, source=Source.TELEGRAM)
        identity = ChatIdentity("telegram", "424242")

        @settings(
            max_examples=examples(40),
            derandomize=DERANDOMIZE,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(line=lines)
        def typed(line: str) -> None:
            before = runner.run(snapshot(services)) if _refused(actor, line) else None
            report = runner.run(engine.run(actor, line, identity=identity))
            assert 0 < len(report.title) <= 200, report.title[:300]
            assert all(len(cell) <= 1000 for row in report.rows for cell in row)
            assert "Traceback" not in repr(report) and "went wrong" not in report.title
            if before is not None:
                assert changed(before, runner.run(snapshot(services))) == {}
            assert not errors.records, errors.records[0].getMessage()

        try:
            typed()
        finally:
            logging.getLogger().removeHandler(errors)
            runner.run(services.close())
