"""The routing policy (pure): filters with named reasons, priority, fair weighted rotation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.hours import parse_hours
from bot.domain.partners import (
    LIVE_FIELDS,
    PartnerFacts,
    PartnerStatus,
    parse_territory,
    with_live,
)
from bot.routing.policy import Filter, LeadFacts, RoutingOptions, WeightedRotation

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEAD = LeadFacts("DE", "80331", ("heat-pump",))


def facts(pid: int, **kw) -> PartnerFacts:
    values = dict(
        id=pid,
        slug=f"p{pid}",
        name=f"P{pid}",
        status=PartnerStatus.ACTIVE,
        capacity=10,
        weight=1,
        priority=1,
        specialties=frozenset({"heat-pump"}),
        territories=(parse_territory("DE:80"),),
    )
    values.update(kw)
    return PartnerFacts(**values)


def turns(
    partners: list[PartnerFacts], n: int, *, count: int = 1, lead: LeadFacts = LEAD
) -> Iterator[list[int]]:
    """Decide `n` times, feeding rotation state back as the store would: the ids chosen."""
    policy, now = WeightedRotation(), NOW
    for _ in range(n):
        d = policy.decide(lead, partners, exclude=set(), count=count, now=now)
        picked = [p.id for p in d.chosen]
        yield picked
        partners = [
            replace(
                p,
                rr_current=d.rotation.get(p.id, p.rr_current),
                last_offered_at=now if p.id in picked else p.last_offered_at,
            )
            for p in partners
        ]
        now += timedelta(seconds=1)


def run(partners: list[PartnerFacts], picks: int, lead: LeadFacts = LEAD) -> list[int]:
    """Pick `picks` times, one partner each."""
    return [winner for (winner,) in turns(partners, picks, lead=lead)]


def test_each_filter_is_named_in_the_explanation():
    partners = [
        facts(1, status=PartnerStatus.PAUSED),
        facts(2, territories=(parse_territory("DE:1"),)),
        facts(3, specialties=frozenset({"solar"})),
        facts(4, open_leads=10),
        facts(5),
        facts(6),
        facts(7, paused_until=NOW + timedelta(days=1)),
        facts(8, reachable=False),
    ]
    d = WeightedRotation().decide(LEAD, partners, exclude={5}, count=1, now=NOW)
    dropped = {v.partner.id: v.dropped_by for v in d.verdicts}
    assert dropped == {
        1: Filter.ACTIVE,
        2: Filter.TERRITORY,
        3: Filter.SPECIALTIES,
        4: Filter.CAPACITY,
        5: Filter.ALREADY_OFFERED,
        6: None,
        7: Filter.ACTIVE,
        8: Filter.REACHABLE,
    }
    assert [p.id for p in d.chosen] == [6]
    reasons = {v.partner.slug: v.reason for v in d.verdicts}
    assert reasons["p3"] == "does not do heat-pump"
    assert reasons["p4"] == "at capacity (10 of 10 open)"
    assert reasons["p8"] == "no chat to send it to: every chat of it is marked broken"
    assert d.why[6] == "80331 is in your area (DE:80) · heat-pump · 0 of 10 open"
    assert d.explanation()["considered"][1]["filter"] == "territory"


def test_a_partner_without_a_reachable_chat_is_left_out_of_the_rotation():
    """Its offer would be undeliverable at once: it neither wins nor gains rotation credit."""
    partners = [facts(1, weight=5, reachable=False), facts(2), facts(3)]
    d = WeightedRotation().decide(LEAD, partners, exclude=set(), count=2, now=NOW)
    assert sorted(p.id for p in d.chosen) == [2, 3] and 1 not in d.rotation
    assert sorted(run(partners, 6)) == [2, 2, 2, 3, 3, 3]


def test_a_holiday_closes_a_partner_without_weekly_hours():
    """No hours means open all day; a holiday (NOW's date) closes it all the same."""
    away = facts(1, holidays=frozenset({NOW.date()}))
    d = WeightedRotation().decide(LEAD, [away, facts(2)], exclude=set(), count=1, now=NOW)
    assert [p.id for p in d.chosen] == [2]
    assert d.reasons[1] == "closed today: one of its holidays"
    held = WeightedRotation().decide(
        LEAD, [away], exclude=set(), count=1, now=NOW, options=RoutingOptions(out_of_hours="hold")
    )
    assert held.chosen == [] and held.hold_until == datetime(2026, 3, 3, tzinfo=UTC)


def test_priority_tier_comes_before_rotation():
    partners = [facts(1, priority=2, weight=100), facts(2, priority=1)]
    assert run(partners, 5) == [2, 2, 2, 2, 2]


def test_ranges_and_radius():
    lead = LeadFacts("DE", "85221", (), lat=48.26, lon=11.43)
    partners = [
        facts(1, territories=(parse_territory("DE:85000-85999"),)),
        facts(2, territories=(parse_territory("DE:radius:48.137,11.575:20km"),)),
        facts(3, territories=(parse_territory("DE:radius:48.137,11.575:5km"),)),
    ]
    d = WeightedRotation().decide(lead, partners, exclude=set(), count=3, now=NOW)
    assert sorted(p.id for p in d.chosen) == [1, 2]
    no_coords = WeightedRotation().decide(
        LeadFacts("DE", "85221", ()), partners[1:], exclude=set(), count=3, now=NOW
    )
    assert no_coords.chosen == []


def test_weights_one_two_three_get_their_share_interleaved():
    partners = [facts(1, weight=1), facts(2, weight=2), facts(3, weight=3)]
    chosen = run(partners, 10_000)
    for pid, weight in ((1, 1), (2, 2), (3, 3)):
        assert abs(chosen.count(pid) / 10_000 - weight / 6) <= 0.02
    longest = {pid: 0 for pid in (1, 2, 3)}
    streak, last = 0, None
    for pid in chosen:
        streak = streak + 1 if pid == last else 1
        last = pid
        longest[pid] = max(longest[pid], streak)
    assert longest == {1: 1, 2: 1, 3: 2}  # smooth: never a long run of one partner


def test_the_oldest_partner_gets_no_more_than_its_share():
    # created in id order; ties must not be broken by creation order
    partners = [facts(i) for i in range(1, 6)]
    chosen = run(partners, 1000)
    assert {chosen.count(i) for i in range(1, 6)} == {200}


def fair_shares(weights: list[int], count: int) -> list[float]:
    """Each partner's share of the copies of a lead: `count * weight / total`, except that
    nobody takes more than one copy; what that leaves over goes to the others by weight."""
    shares = [0.0] * len(weights)
    capped: set[int] = set()
    while True:
        rest = [i for i in range(len(weights)) if i not in capped]
        left, total = count - len(capped), sum(weights[i] for i in rest)
        over = {i for i in rest if left * weights[i] >= total}
        if not over:
            for i in rest:
                shares[i] = left * weights[i] / total
            for i in capped:
                shares[i] = 1.0
            return shares
        capped |= over


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(1, 6), min_size=2, max_size=7),
    count=st.integers(2, 7),
)
def test_broadcasts_give_each_partner_its_share_of_the_copies(weights, count):
    """Every turn hands out `count` copies to different partners; after any number of turns
    each partner is within two copies of its fair share (the gap the rotation's state keeps
    is about one copy: searches found at most 1.07)."""
    partners = [facts(i + 1, weight=w) for i, w in enumerate(weights)]
    copies = min(count, len(partners))
    shares, got = fair_shares(weights, copies), [0] * len(weights)
    for turn, ids in enumerate(turns(partners, 120, count=count), start=1):
        assert len(ids) == len(set(ids)) == copies
        for pid in ids:
            got[pid - 1] += 1
        for share, n in zip(shares, got, strict=True):
            assert abs(n - share * turn) < 2


def test_three_equal_partners_share_two_copies_of_each_lead_evenly():
    chosen = [pid for ids in turns([facts(1), facts(2), facts(3)], 30, count=2) for pid in ids]
    assert {pid: chosen.count(pid) for pid in (1, 2, 3)} == {1: 20, 2: 20, 3: 20}


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(1, 5), min_size=2, max_size=6),
    blocked=st.lists(
        st.sampled_from(
            ["paused", "capacity", "territory", "offered", "closed", "until", "unreachable"]
        ),
        max_size=6,
    ),
    count=st.integers(1, 4),
)
def test_blocked_partners_are_never_offered_and_nobody_twice(weights, blocked, count):
    partners = [facts(i + 1, weight=w) for i, w in enumerate(weights)]
    exclude = set()
    for i, why in enumerate(blocked[: len(partners)]):
        p = partners[i]
        if why == "paused":
            partners[i] = replace(p, status=PartnerStatus.PAUSED)
        elif why == "capacity":
            partners[i] = replace(p, open_leads=p.capacity)
        elif why == "territory":
            partners[i] = replace(p, territories=(parse_territory("AT:1"),))
        elif why == "unreachable":
            partners[i] = replace(p, reachable=False)
        elif why == "closed":  # NOW is a Monday morning; this partner only works Sundays
            partners[i] = replace(p, hours=parse_hours({"sun": "08:00-18:00"}))
        elif why == "until":
            partners[i] = replace(p, paused_until=NOW + timedelta(hours=1))
        else:
            exclude.add(p.id)
    blocked_ids = {p.id for p in partners[: len(blocked)]}
    d = WeightedRotation().decide(LEAD, partners, exclude=exclude, count=count, now=NOW)
    ids = [p.id for p in d.chosen]
    assert len(ids) == len(set(ids)) and not set(ids) & blocked_ids
    assert len(ids) == min(count, len(partners) - len(blocked_ids))


@given(
    status=st.sampled_from(list(PartnerStatus)),
    capacity=st.integers(0, 50),
    open_leads=st.integers(0, 50),
    offers_today=st.integers(0, 50),
    rr_current=st.floats(-100, 100),
    offered=st.none() | st.just(NOW - timedelta(minutes=5)),
    paused=st.none() | st.just(NOW + timedelta(days=1)),
    reachable=st.booleans(),
)
def test_with_live_is_replace_of_the_live_fields(
    status, capacity, open_leads, offers_today, rr_current, offered, paused, reachable
):
    base = facts(7, daily_cap=3, languages=frozenset({"de"}), location=(48.1, 11.6))
    state = dict(
        status=status,
        capacity=capacity,
        open_leads=open_leads,
        offers_today=offers_today,
        rr_current=rr_current,
        last_offered_at=offered,
        paused_until=paused,
        reachable=reachable,
    )
    assert set(state) == set(LIVE_FIELDS)
    assert with_live(base, state) == replace(base, **state)


def test_with_live_refuses_a_state_missing_a_live_field():
    state = dict(status=PartnerStatus.ACTIVE, capacity=1, open_leads=0, offers_today=0)
    with pytest.raises(KeyError, match="rr_current"):
        with_live(facts(1), state)
