"""The chat command engine: every verb for every role, usage lines, and what the verbs change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.command_grammar import VERBS
from bot.commands import CommandEngine
from bot.dispatch import accept_offer
from bot.domain.actors import Actor, Role, Source
from bot.domain.leads import DispatchStatus
from bot.reports.home import home_view
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, actor_for, apply, config, lead, partner

MANAGER = Actor(name="Ada Admin", role=Role.MANAGER)


@pytest.fixture
async def engine(services):
    rep = {"name": "Rita Rep", "slack": "URITA", "role": "partner_rep"}
    acme = partner("acme")
    acme["members"].append(rep)
    await apply(services, config([acme, partner("beta", territories=["DE:81"])]))
    return CommandEngine(services, source=Source.SLACK)


async def people(services) -> dict[str, Actor | None]:
    return {
        "manager": MANAGER,
        "admin": await actor_for(services, "UACME"),  # acme's partner admin
        "rep": await actor_for(services, "URITA"),  # acme's rep
        "stranger": None,
    }


def said(report) -> str:
    return " | ".join([report.title] + [" ".join(r) for r in report.rows])


# (verb line, role) -> allowed? Refusals say "Not for you" or "not linked".
MATRIX = {
    "help": {"manager", "admin", "rep"},
    "funnel": {"manager", "admin", "rep"},
    "open": {"manager", "admin", "rep"},
    "partners": {"manager"},
    "pause acme": {"manager", "admin"},
    "resume acme": {"manager", "admin"},
    "capacity acme 5": {"manager", "admin"},
    "assign L0000000 acme": {"manager"},
    "why L0000000": {"manager"},
    "who DE-80331": {"manager"},
    "dm": {"admin", "rep"},
}


@pytest.mark.parametrize("line", list(MATRIX))
async def test_who_may_run_each_verb(engine, services, line):
    for role, actor in (await people(services)).items():
        text = said(await engine.run(actor, line))
        refused = "Not for you" in text or "not linked" in text
        assert refused is (role not in MATRIX[line]), f"{line!r} as {role}: {text}"


def test_the_matrix_covers_every_verb():
    assert {line.split()[0] for line in MATRIX} | {"link"} == set(VERBS)


async def test_help_lists_only_what_this_person_may_run(engine, services):
    everyone = await people(services)
    manager = [row[0].split()[0] for row in (await engine.run(everyone["manager"], "help")).rows]
    rep = [row[0].split()[0] for row in (await engine.run(everyone["rep"], "help")).rows]
    assert manager == [verb for verb in VERBS if verb != "dm"]  # managers get no lead DMs
    assert rep == ["help", "funnel", "open", "link", "dm"]


async def test_bad_input_gets_a_usage_line_never_a_trace(engine, services):
    cases = {
        "dance": "Unknown command 'dance'",
        "funnel acme 13q": "Usage: funnel",
        "funnel acme 2026-13": "no month 13",
        "capacity acme many": "Usage: capacity",
        "pause acme until tomorrow": "is not a date",
        "assign L1": "Usage: assign",
        "who XX-1-2 a b c": "Usage: who",  # a postcode has two words at most
        "open please": "takes no arguments",
        'funnel "unclosed': "There is no partner",  # shlex fails: plain words, no trace
        'funnel ""': "Funnel: all partners",
        "capacity acme ²": "Usage: capacity",
        "funnel 0000-01": "a year between 2000 and 2100",
        "funnel 9999-12-31..9999-12-31": "years between 2000 and 2100",
    }
    for line, expected in cases.items():
        assert expected in said(await engine.run(MANAGER, line)), line


async def test_a_partner_sees_only_its_own_funnel(engine, services):
    rep = (await people(services))["rep"]
    assert "Not for you" in said(await engine.run(rep, "funnel beta"))
    own = await engine.run(rep, "funnel 30d")
    assert own.title.startswith("Funnel: Acme") and own.image_png


async def test_funnel_for_all_and_by_source(engine, services):
    await services.submit_lead(lead("c-1", source="website"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    overall = await engine.run(MANAGER, "funnel all 7d")
    assert overall.header[0] == "partner" and overall.rows[0][:2] == ["all", "1"]
    assert overall.image_png and overall.image_png.startswith(b"\x89PNG")
    by_source = await engine.run(MANAGER, "funnel 7d by source")
    assert by_source.rows[0][:2] == ["website", "1"]
    assert "There is no partner 'ghost'" in said(await engine.run(MANAGER, "funnel ghost"))


async def test_pause_capacity_and_resume_change_routing(engine, services):
    admin = (await people(services))["admin"]
    assert "gets no new leads" in said(await engine.run(admin, "pause"))  # own partner
    assert "Not for you" in said(await engine.run(admin, "pause beta"))
    _, _, offers = await services.submit_lead(lead("c-2"), actor=SYSTEM, source=SRC)
    assert offers == []  # acme is paused and nobody else covers DE:80
    assert "gets leads again" in said(await engine.run(admin, "resume acme"))
    assert "may now hold 0 open leads" in said(await engine.run(MANAGER, "capacity acme 0"))
    _, _, offers = await services.submit_lead(lead("c-3"), actor=SYSTEM, source=SRC)
    assert offers == []  # no room
    await engine.run(MANAGER, "capacity acme 3")
    _, _, offers = await services.submit_lead(lead("c-4"), actor=SYSTEM, source=SRC)
    assert len(offers) == 1
    table = await engine.run(MANAGER, "partners")
    assert table.rows[0][:3] == ["acme", "active", "0/3"]
    paused = await engine.run(MANAGER, "pause beta until 2099-01-01")
    assert "until 2099-01-01 00:00 (UTC)" in said(paused)
    assert "paused until 2099-01-01" in said(await engine.run(MANAGER, "partners"))


async def test_pause_until_a_day_means_its_start_in_the_partners_time_zone(services):
    """As `paused_until` in leadbot.yaml: midnight where the partner is, not in UTC."""
    from bot.store.tables import partners

    pacific = partner("acme", timezone="America/Los_Angeles")
    await apply(services, config([pacific, partner("beta", paused_until="2099-01-10")]))
    engine = CommandEngine(services, source=Source.SLACK)
    paused = await engine.run(MANAGER, "pause acme until 2099-01-10")
    assert "until 2099-01-10 00:00 (PST)" in said(paused)
    async with services.uow() as uow:
        rows = await uow.execute(select(partners.c.slug, partners.c.paused_until))
        until = {slug: at for slug, at in rows}
    assert until["acme"] == datetime(2099, 1, 10, 8, tzinfo=UTC)  # 00:00 in Los Angeles
    assert until["beta"] == datetime(2099, 1, 10, tzinfo=UTC)  # beta's own zone: UTC
    # `partners` names the same moment the same way, not 08:00 with no zone
    standing = {row[0]: row[1] for row in (await engine.run(MANAGER, "partners")).rows}
    assert standing["acme"] == "paused until 2099-01-10 00:00 (PST)"
    assert standing["beta"] == "paused until 2099-01-10 00:00 (UTC)"


async def test_open_assign_why_and_who(engine, services):
    stored, _, _ = await services.submit_lead(lead("c-5"), actor=SYSTEM, source=SRC)
    rep = (await people(services))["rep"]
    assert stored.public_id in said(await engine.run(rep, "open"))
    assert "1. acme" in said(await engine.run(MANAGER, "who 80331 heat-pump"))
    assert "acme" in said(await engine.run(MANAGER, f"why {stored.public_id}"))
    done = await engine.run(MANAGER, f"assign {stored.public_id} beta")
    assert done.title == "Done"
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).status is DispatchStatus.ACCEPTED
    assert "nothing waiting" in said(await engine.run(rep, "open"))


async def test_without_any_configuration_the_answer_says_so(services):
    engine = CommandEngine(services, source=Source.SLACK)
    report = await engine.run(MANAGER, "funnel")
    assert report.title == "Not done" and "no configuration" in report.rows[0][0]


async def test_a_person_links_their_chat_account_with_a_one_time_code(engine, services, clock):
    from datetime import timedelta

    from bot.dispatch.linking import ChatIdentity, invite_member

    code = await services.run(invite_member, name="Rep acme", partner_slug="acme")
    phone = ChatIdentity("telegram", "424242")
    assert "not linked" in said(await engine.run(None, "funnel", identity=phone))
    assert "Usage: link" in said(await engine.run(None, "link", identity=phone))
    assert "unknown, used or expired" in said(await engine.run(None, "link NOPE", identity=phone))
    assert "you are Rep acme" in said(
        await engine.run(None, f"link {code.lower()}", identity=phone)
    )
    async with services.uow() as uow:
        rep = await uow.members.find_actor(platform="telegram", external_id="424242")
    assert rep is not None and rep.name == "Rep acme" and rep.role is Role.PARTNER_ADMIN
    other = ChatIdentity("telegram", "777")
    assert "unknown, used or expired" in said(
        await engine.run(None, f"link {code}", identity=other)
    )
    assert "Already linked" in said(await engine.run(rep, f"link {code}", identity=phone))
    # a config apply keeps accounts linked from the chat
    await apply(services, config([partner("acme"), partner("beta", territories=["DE:81"])]))
    async with services.uow() as uow:
        assert await uow.members.find_actor(platform="telegram", external_id="424242")
    late = await services.run(invite_member, name="Rep beta", partner_slug="beta")
    clock.advance(timedelta(days=8))
    assert "expired" in said(await engine.run(None, f"link {late}", identity=other))
    refused = await services.run(invite_member, name="Nobody", partner_slug="acme")
    assert not isinstance(refused, str) and "no member called 'Nobody'" in refused.message


async def test_a_partner_whose_slug_starts_with_a_digit_is_named_like_any_other(services):
    """Slugs may start with a digit (leadbot.yaml: ^[a-z0-9]…): 'pause 1komma5' is that
    partner, not a missing one; a count or a period still reads as one."""
    await apply(services, config([partner("acme"), partner("1komma5")]))
    engine = CommandEngine(services, source=Source.SLACK)
    assert "gets no new leads" in said(await engine.run(MANAGER, "pause 1komma5"))
    assert "until 2099-01-01" in said(await engine.run(MANAGER, "pause 1komma5 until 2099-01-01"))
    assert "gets leads again" in said(await engine.run(MANAGER, "resume 1komma5"))
    assert "may now hold 4 open leads" in said(await engine.run(MANAGER, "capacity 1komma5 4"))
    assert (await engine.run(MANAGER, "funnel 1komma5 7d")).title.startswith("Funnel: 1Komma5")
    admin = await actor_for(services, "U1KOMMA5")
    assert "1Komma5 may now hold 2" in said(await engine.run(admin, "capacity 2"))  # own
    assert "Usage: funnel" in said(await engine.run(MANAGER, "funnel 3m"))  # not a partner


async def test_funnel_by_source_for_a_partner_that_does_not_exist_says_so(engine):
    report = await engine.run(MANAGER, "funnel ghost 7d by source")
    assert "There is no partner 'ghost'" in said(report)


async def test_partners_see_their_funnel_by_source_without_what_leads_cost(services):
    """Cost per lead and ROI are the manufacturer's own figures: managers only."""
    doc = config([partner("acme")])
    doc["sources"] = {"test": {"cost_per_lead": 50}}
    await apply(services, doc)
    _, _, (offer_id,) = await services.submit_lead(lead("s-1"), actor=SYSTEM, source=SRC)
    engine = CommandEngine(services, source=Source.SLACK)
    admin = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=admin, source=SRC)).ok
    managers = await engine.run(MANAGER, "funnel acme by source")
    partners = await engine.run(admin, "funnel by source")
    assert {"cost/lead", "ROI"} <= set(managers.header) and managers.rows[0][7] == "50"
    assert not {"cost/lead", "ROI"} & set(partners.header)
    # one partner's rows say whose they are: shared in a chat, they are not everyone's
    assert managers.title.startswith("Funnel by source for Acme, last 30 days")
    assert partners.title.startswith("Funnel by source for Acme, last 30 days")
    everyone = await engine.run(MANAGER, "funnel by source")
    assert everyone.title.startswith("Funnel by source, last 30 days")
    assert partners.rows[0][:2] == ["test", "1"] and len(partners.rows[0]) == len(partners.header)
    assert "50" not in said(partners)


async def test_who_without_a_postcode_asks_for_one(engine):
    for line in ("who DE-", "who DE:", "who -"):
        assert "Give a postcode" in said(await engine.run(MANAGER, line)), line


async def test_who_takes_a_postcode_with_a_dash_of_its_own(services):
    """Polish (00-950) and Portuguese (1000-001) postcodes hold a dash: 'who PL-00-950' is
    Poland, postcode 00-950; with one country in leadbot.yaml, 'who 00-950' is enough."""
    await apply(services, config([partner("acme", territories=["PL:00"])]))
    engine = CommandEngine(services, source=Source.SLACK)
    for line in ("who PL-00-950", "who PL:00-950", "who 00-950", "who pl-00-950 heat-pump"):
        answer = await engine.run(MANAGER, line)
        assert answer.title == "Who covers PL-00-950" and "1. acme" in said(answer), line


async def test_open_counts_everything_waiting_when_it_lists_the_oldest(services):
    """32 leads wait for acme: 'open' lists the oldest 30 and says 32, not 30; the managers'
    home tab shows 10 and says 22 more, not 1."""
    await apply(services, config([partner("acme")]))
    for n in range(32):
        await services.submit_lead(lead(f"w-{n}"), actor=SYSTEM, source=SRC)
    engine = CommandEngine(services, source=Source.SLACK)
    answer = await engine.run(MANAGER, "open")
    assert answer.title == "Open: 32 (oldest 30)" and len(answer.rows) == 30
    mine = await engine.run(await actor_for(services, "UACME"), "open")
    assert mine.title == "Open: 32 (oldest 30)"
    async with services.uow() as uow:
        home = await home_view(uow, services.ctx, actor=MANAGER)
    (waiting,) = [s for s in home.sections if s.heading == "Waiting"]
    assert (len(waiting.entries), waiting.more) == (10, 22)


async def test_who_takes_a_postcode_written_in_two_words(services):
    """'who GB-SW1A 1AA' is the postcode SW1A 1AA, not SW1A and a specialty '1AA' that
    acme would be 'dropped by'; a word like 'solar' is still the specialty."""
    await apply(services, config([partner("acme", territories=["GB:SW1A"])]))
    engine = CommandEngine(services, source=Source.SLACK)
    for line in ("who GB-SW1A 1AA", "who SW1A 1AA", "who GB-SW1A 1AA heat-pump", "who SW1A solar"):
        answer = await engine.run(MANAGER, line)
        assert "1. acme" in said(answer) and "dropped" not in said(answer), line
    assert (await engine.run(MANAGER, "who GB-SW1A 1AA")).title == "Who covers GB-SW1A 1AA"
    biogas = said(await engine.run(MANAGER, "who SW1A 1AA biogas"))
    assert "acme dropped by specialties: does not do biogas" in biogas
    # a short word some partner has as its specialty stays the specialty
    dutch = [
        partner("acme", territories=["NL:10"], specialties=["pv"]),
        partner("beta", territories=["NL:10"], specialties=["hp"]),
    ]
    await apply(services, config(dutch))
    both = said(await engine.run(MANAGER, "who 1012 AB"))
    assert "acme" in both and "beta" in both and "dropped" not in both
    hp = said(await engine.run(MANAGER, "who 1012 hp"))
    assert "1. beta" in hp and "acme dropped by specialties: does not do hp" in hp
    assert "acme dropped" in said(await engine.run(MANAGER, "who 1012 AB hp"))


async def test_a_partner_whose_slug_is_all_sees_its_own_funnel_not_everyones(services, monkeypatch):
    """leadbot.yaml allowed the slug 'all' (refused now, but a database may hold one applied
    before); its people asking for their funnel got the funnel of all partners (beta's
    numbers too), and by source every partner's leads."""
    from bot import policy_fields

    monkeypatch.setattr(policy_fields, "RESERVED_SLUGS", {})
    await apply(services, config([partner("all"), partner("beta", territories=["DE:81"])]))
    await services.submit_lead(lead("a-1", postcode="81000"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    engine = CommandEngine(services, source=Source.SLACK)
    admin = await actor_for(services, "UALL")
    own = await engine.run(admin, "funnel")
    assert own.title.startswith("Funnel: All, last 30 days") and "beta" not in said(own)
    assert dict(own.rows)["offered"] == "0"
    by_source = await engine.run(admin, "funnel by source")
    assert by_source.title.startswith("Funnel by source for All") and "(no leads)" in said(
        by_source
    )
    managers = await engine.run(MANAGER, "funnel all")
    assert managers.title.startswith("Funnel: all partners")  # 'all' is everyone for managers


async def test_who_reads_a_specialty_in_any_case_as_leads_are_routed(engine):
    assert "1. acme" in said(await engine.run(MANAGER, "who DE-80331 Heat-Pump"))
