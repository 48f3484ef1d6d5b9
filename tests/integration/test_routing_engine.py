"""The routing engine on a real store: hours and holds, languages, caps, geo, nearest, who/why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from bot.bootstrap import build
from bot.dispatch import decline_offer
from bot.domain.leads import DispatchStatus
from bot.reports.routing import format_coverage, format_explanation, get_explanation, who_covers
from bot.routing.geo import Centroid, PlaceCache
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, apply, config, lead, partner
from tests.fakes import RecordingMessenger

BUSINESS = {"mon-fri": "08:00-18:00"}


async def offered_slugs(services, lead_id):
    async with services.uow() as uow:
        names = await uow.partners.list_names()
        return [names[o.partner_id][0] for o in await uow.offers.list_for_lead(lead_id)]


async def test_a_weekend_lead_waits_for_monday_then_goes_out(services, clock):
    clock.advance(datetime(2026, 3, 7, 15, 0, tzinfo=UTC) - clock.now())  # Saturday 16:00 Berlin
    await apply(
        services,
        config([partner("acme", hours=BUSINESS, timezone="Europe/Berlin")], out_of_hours="hold"),
    )
    stored, _, offers = await services.submit_lead(lead("h-1"), actor=SYSTEM, source=SRC)
    assert offers == []
    async with services.uow() as uow:
        held = await uow.leads.get(stored.id)
        events = [e.kind for e in await uow.events.list_for_lead(stored.id)]
    assert held.status is DispatchStatus.NEW
    assert held.held_until == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # Monday 08:00 Berlin
    assert events == ["received", "held"]
    clock.advance(timedelta(hours=20))
    assert (await services.scheduler.sweep()).routed == 0  # Sunday: still held, not stranded
    clock.advance(datetime(2026, 3, 9, 7, 0, tzinfo=UTC) - clock.now())
    assert (await services.scheduler.sweep()).routed == 1
    assert await offered_slugs(services, stored.id) == ["acme"]
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).held_until is None


async def test_skip_and_offer_out_of_hours(services, clock):
    clock.advance(datetime(2026, 3, 7, 15, 0, tzinfo=UTC) - clock.now())
    closed = partner("closed", hours=BUSINESS, timezone="Europe/Berlin", weight=9)
    await apply(services, config([closed, partner("always")], out_of_hours="skip"))
    stored, _, _ = await services.submit_lead(lead("s-1"), actor=SYSTEM, source=SRC)
    assert await offered_slugs(services, stored.id) == ["always"]
    await apply(services, config([closed], out_of_hours="offer"))
    stored, _, _ = await services.submit_lead(lead("s-2"), actor=SYSTEM, source=SRC)
    assert await offered_slugs(services, stored.id) == ["closed"]
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(stored.id)
    assert "sent outside your working hours" in decision["why"]["closed"]


async def test_a_holiday_closes_a_partner_that_gives_no_weekly_hours(services, clock):
    today = clock.now().date()
    away = partner("acme", priority=1, holidays=[today.isoformat()])
    await apply(services, config([away, partner("beta", priority=2)]))
    stored, _, _ = await services.submit_lead(lead("hol-1"), actor=SYSTEM, source=SRC)
    assert await offered_slugs(services, stored.id) == ["beta"]
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(stored.id)
    (acme,) = [c for c in decision["considered"] if c["partner"] == "acme"]
    assert (acme["filter"], acme["reason"]) == ("hours", "closed today: one of its holidays")


async def test_languages_daily_cap_and_paused_until(services, clock):
    partners = [
        partner("german", languages=["de"], weight=5),
        partner("capped", daily_cap=1, weight=4),
        partner("away", paused_until="2026-03-10", timezone="Europe/Berlin", weight=3),
        partner("anyone"),
    ]
    await apply(services, config(partners, max_rounds=4))
    stored, _, _ = await services.submit_lead(lead("l-1", language="en"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(stored.id)
    dropped = {c["partner"]: c["filter"] for c in decision["considered"] if c["filter"]}
    assert dropped == {"german": "language", "away": "active"}
    assert decision["chosen"] == ["capped"]
    second, _, _ = await services.submit_lead(lead("l-2"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(second.id)
    dropped = {c["partner"]: c["filter"] for c in decision["considered"] if c["filter"]}
    assert dropped == {"capped": "daily_cap", "away": "active"}
    clock.advance(timedelta(days=9))  # paused_until has passed: back without anyone doing a thing
    third, _, _ = await services.submit_lead(lead("l-3", language="en"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(third.id)
    assert not [c for c in decision["considered"] if c["partner"] == "away" and c["filter"]]


async def test_radius_rules_use_geocoded_postcodes(services):
    far = partner("far", territories=["US:radius:40.75,-73.99:20km"])  # around Manhattan
    await apply(services, config([far]))
    nyc, _, offers = await services.submit_lead(
        lead("g-1", country="US", postcode="10001"), actor=SYSTEM, source=SRC
    )
    assert offers and nyc.lat is not None  # the US ZIP was geocoded from the bundled data
    sf, _, offers = await services.submit_lead(
        lead("g-2", country="US", postcode="94016"), actor=SYSTEM, source=SRC
    )
    assert offers == []
    de = partner("de", territories=["DE:radius:48.137,11.575:40km"])
    await apply(services, config([de]))
    unknown, _, offers = await services.submit_lead(
        lead("g-3", postcode="85221"), actor=SYSTEM, source=SRC
    )
    assert offers == []
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(unknown.id)
        await uow.geo.replace([Centroid("DE", "85221", 48.26, 11.43, "Dachau")])
        await uow.commit()
    services.ctx.places = PlaceCache()  # a running server forgets the miss within its ttl
    assert decision["notes"] == [
        "1 partner(s) with radius rules (de) could not be checked: the lead has no coordinates "
        "and DE-85221 is not in the geocoder"
    ]
    known, _, offers = await services.submit_lead(
        lead("g-4", postcode="85221"), actor=SYSTEM, source=SRC
    )
    assert offers and (known.lat, known.lon) == (48.26, 11.43)


async def test_prefer_nearest(services):
    partners = [
        partner("north", territories=["DE:8"], location="48.40,11.75", weight=5),
        partner("south", territories=["DE:8"], location="47.85,12.05"),
    ]
    await apply(services, config(partners, prefer="nearest"))
    for i in range(3):
        stored, _, _ = await services.submit_lead(
            lead(f"n-{i}", postcode="83022", lat=47.86, lon=12.12), actor=SYSTEM, source=SRC
        )
        assert await offered_slugs(services, stored.id) == ["south"]


async def test_who_and_why(services):
    partners = [
        partner("acme", weight=2),
        partner("beta"),
        partner("gamma", specialties=["x"]),
        partner("delta", territories=["DE:1"]),
    ]
    await apply(services, config(partners))
    async with services.uow() as uow:
        coverage = await who_covers(
            uow, services.ctx, country="de", postcode="80331", specialty="heat-pump"
        )
    lines = format_coverage(coverage)
    assert [p.slug for p in coverage.chosen] == ["acme", "beta"]
    assert lines[0].startswith("1. acme — 80331 is in your area (DE:80)")
    assert lines[-1] == "-  gamma dropped by specialties: does not do heat-pump"
    stored, _, (offer_id,) = await services.submit_lead(lead("w-1"), actor=SYSTEM, source=SRC)
    await services.run(
        decline_offer, offer_id=offer_id, actor=MANAGER, reason="not_a_fit", source=SRC
    )
    async with services.uow() as uow:
        ref, decisions = await get_explanation(uow, stored.public_id)
    text = "\n".join(format_explanation(ref, decisions))
    assert "Round 1: offered to acme" in text and "Round 2: offered to beta" in text
    assert "acme dropped by already_offered" in text
    assert "gamma dropped by specialties: does not do heat-pump" in text
    assert "1 other partners do not cover the area" in text


async def test_fairness_holds_across_two_instances_and_restarts(services, database_url, clock):
    await apply(
        services,
        config([partner("one", weight=1), partner("two", weight=2), partner("three", weight=3)]),
    )
    other = build(services.settings, messengers={"slack": RecordingMessenger("slack")}, clock=clock)
    counts: dict[str, int] = {}
    try:
        for i in range(60):
            instance = services if i % 2 else other  # alternate, as behind a load balancer
            stored, _, _ = await instance.submit_lead(lead(f"f-{i}"), actor=SYSTEM, source=SRC)
            (slug,) = await offered_slugs(services, stored.id)
            counts[slug] = counts.get(slug, 0) + 1
            if i == 29:
                await other.close()
                other = build(services.settings, clock=clock)  # a restart halfway
    finally:
        await other.close()
    assert counts == {"one": 10, "two": 20, "three": 30}
    await deliver_all(services)


async def test_the_weighted_rotation_is_kept_in_the_database_lead_after_lead(services):
    """Smooth weighted round robin, its state read and written by every decision: weights
    2 and 1 give a, b, a over and over (the state of every candidate moves each time)."""
    await apply(services, config([partner("a", weight=2), partner("b", weight=1)]))
    firsts = []
    for i in range(12):
        stored, _, _ = await services.submit_lead(lead(f"rot-{i}"), actor=SYSTEM, source=SRC)
        firsts += await offered_slugs(services, stored.id)
    assert firsts == ["a", "b", "a"] * 4


async def test_saving_the_rotation_touches_only_what_it_was_given(services, clock):
    await apply(services, config([partner("a"), partner("b"), partner("c")]))
    now = clock.now()
    async with services.uow() as uow:
        ids = await uow.partners.ids_by_slug()
        a, b, c = ids["a"], ids["b"], ids["c"]
        before = await uow.partners.load_state([a, b, c], now=now, daily_caps={})
        # a: a new rotation state, not offered; b: offered, its state not given; c: untouched
        await uow.partners.save_rotation({a: -2.5}, offered=[b], now=now)
        after = await uow.partners.load_state([a, b, c], now=now, daily_caps={}, lock=True)
        await uow.commit()
    assert after[a]["rr_current"] == -2.5 and after[a]["last_offered_at"] is None
    assert after[b]["rr_current"] == before[b]["rr_current"]
    assert after[b]["last_offered_at"] == now
    assert after[c] == before[c]


async def test_a_new_leads_insert_stands_in_for_the_policy_version_check(services, monkeypatch):
    """The insert reads the newest policy version: when it is the cached directory's, routing
    asks no separate question; a version applied since is picked up by the next lead."""
    ticks = [1000.0]
    monkeypatch.setattr("bot.dispatch.context.monotonic", lambda: ticks[0])
    await apply(services, config([partner("acme")]))
    await services.submit_lead(lead("v-1"), actor=SYSTEM, source=SRC)  # builds the directory
    asked: list[str] = []

    def note(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT MAX(POLICY_VERSIONS.VERSION)"):
            asked.append(statement)

    event.listen(services.engine.sync_engine, "before_cursor_execute", note)
    try:
        for n in range(3):  # each two seconds after the last: past every check's second
            ticks[0] += 2.0
            _, _, offers = await services.submit_lead(lead(f"v-{n + 2}"), actor=SYSTEM, source=SRC)
            assert offers
        assert asked == []
        await apply(services, config([partner("acme"), partner("zeta", weight=1000)]))
        stored, _, _ = await services.submit_lead(lead("v-9"), actor=SYSTEM, source=SRC)
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", note)
    assert await offered_slugs(services, stored.id) == ["zeta"]


async def test_a_partner_whose_chats_are_all_broken_is_passed_over(services, slack):
    """Its offer would be undeliverable at once and use up a round: with one round, the lead
    went to the managers though Beta could take it. Routing leaves it out, says why, and gives
    it no rotation credit; once its chat is declared again it is back."""
    document = config([partner("acme", weight=5), partner("beta")], max_rounds=1)
    await apply(services, document)
    async with services.uow() as uow:
        acme = (await uow.partners.ids_by_slug())["acme"]
        (chat,) = await uow.partners.list_destinations(partner_id=acme)
        await uow.partners.mark_broken(chat.id, reason="channel_not_found", now=services.ctx.now())
        await uow.commit()
    for i in range(3):
        stored, _, _ = await services.submit_lead(lead(f"br-{i}"), actor=SYSTEM, source=SRC)
        assert await offered_slugs(services, stored.id) == ["beta"]
    async with services.uow() as uow:
        (decision,) = await uow.leads.get_explanation(stored.id)
        state = await uow.partners.load_state([acme], now=services.ctx.now(), daily_caps={})
    (considered,) = [c for c in decision["considered"] if c["partner"] == "acme"]
    assert considered["filter"] == "reachable"
    assert considered["reason"] == "no chat to send it to: every chat of it is marked broken"
    assert state[acme]["rr_current"] == 0 and state[acme]["last_offered_at"] is None
    await deliver_all(services)
    assert len(slack.offers_to("C-beta")) == 3 and slack.offers_to("C-acme") == []

    await apply(services, document)  # the channel fixed and declared again
    stored, _, _ = await services.submit_lead(lead("br-9"), actor=SYSTEM, source=SRC)
    assert await offered_slugs(services, stored.id) == ["acme"]


async def test_broadcast_rounds_share_the_leads_by_weight(services):
    """Two copies of each lead: three equal partners are in two rounds of three each; with
    weights 3, 2 and 1 the heaviest is in every round (a copy each is the most it can have)
    and the other two share the second copy two to one."""
    for weights, expected in (((1, 1, 1), [20, 20, 20]), ((3, 2, 1), [30, 20, 10])):
        slugs = [f"p{n}-{''.join(map(str, weights))}" for n in range(3)]
        partners = [partner(s, weight=w) for s, w in zip(slugs, weights, strict=True)]
        await apply(services, config(partners, mode="broadcast", broadcast_size=2))
        got = dict.fromkeys(slugs, 0)
        for i in range(30):
            stored, _, _ = await services.submit_lead(
                lead(f"bc-{slugs[0]}-{i}"), actor=SYSTEM, source=SRC
            )
            for slug in await offered_slugs(services, stored.id):
                got[slug] += 1
        assert list(got.values()) == expected
