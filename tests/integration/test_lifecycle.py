"""A lead's life, read as a conversation: in, offered, declined, passed on, expired, escalated."""

from __future__ import annotations

from datetime import timedelta

from bot.dispatch import accept_offer, decline_offer, expire_offer
from bot.domain.events import EventKind
from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import OfferStatus
from bot.messaging import CardState
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, actor_for, apply, config, lead, partner


async def _history(services, lead_id):
    async with services.uow() as uow:
        return (
            await uow.leads.get(lead_id),
            await uow.offers.list_for_lead(lead_id),
            await uow.events.list_for_lead(lead_id),
        )


async def test_decline_then_expiry_then_escalation(services, slack, clock):
    await apply(
        services,
        config([partner("acme", weight=2, priority=1), partner("beta", priority=2)], max_rounds=2),
    )
    stored, created, offers = await services.submit_lead(
        lead("w-1"), actor=actor_for_system(), source=SRC
    )
    assert created and len(offers) == 1
    await deliver_all(services)
    card = slack.offers_to("C-acme")[0]
    assert card.state is CardState.OPEN and card.contact is None
    assert "80331 is in your area" in card.why_you
    assert [b.label for b in card.buttons] == ["Accept", "Decline"]

    bob = await actor_for(services, "UACME")
    outcome = await services.run(
        decline_offer, offer_id=offers[0], actor=bob, reason="no_capacity", source=SRC
    )
    assert outcome.ok, outcome.message
    await deliver_all(services)
    assert slack.latest_card(offers[0]).state is CardState.CLOSED
    assert "Declined by Rep acme (no_capacity)" in slack.latest_card(offers[0]).status_line
    beta_card = slack.offers_to("C-beta")[0]
    assert beta_card.state is CardState.OPEN

    # Beta does not answer: the window (counted from delivery) passes
    assert await services.run(expire_offer, offer_id=beta_card.offer_id) is False  # not due
    clock.advance(timedelta(minutes=31))
    result = await services.scheduler.sweep()
    assert result.expired == 1
    await deliver_all(services)
    lead_row, offer_rows, events = await _history(services, stored.id)
    assert lead_row.status is DispatchStatus.UNASSIGNED
    assert [o.status for o in offer_rows] == [OfferStatus.DECLINED, OfferStatus.EXPIRED]
    notice = slack.notices_to("C0MANAGERS")[-1]
    assert notice.title == f"Nobody took lead {stored.public_id}"
    assert any("nobody took it in 2 rounds" in line for line in notice.lines)
    kinds = [e.kind for e in events]
    assert kinds == [
        "received",
        "offered",
        "delivered",
        "declined",
        "offered",
        "delivered",
        "expired",
        "unassigned",
    ]


def actor_for_system():
    from tests.factories import SYSTEM

    return SYSTEM


async def test_accept_shows_contact_only_to_the_winner_and_moves_the_funnel(services, slack):
    await apply(services, config([partner("acme")]))
    stored, _, (offer_id,) = await services.submit_lead(
        lead("a-1"), actor=actor_for_system(), source=SRC
    )
    await deliver_all(services)
    bob = await actor_for(services, "UACME")
    outcome = await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)
    assert outcome.ok
    await deliver_all(services)
    card = slack.latest_card(offer_id)
    assert card.state is CardState.WON
    assert card.contact is not None and card.contact.email == "max@example.com"
    assert [b.label for b in card.buttons] == [
        "Contacted",
        "Qualified",
        "Opportunity",
        "Won",
        "Lost",
    ]
    lead_row, _, _ = await _history(services, stored.id)
    assert lead_row.status is DispatchStatus.ACCEPTED and lead_row.stage is Stage.ACCEPTED
    again = await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)
    assert not again.ok and again.message == "Already accepted by Rep acme."


async def test_window_starts_at_delivery_not_at_queueing(services, clock):
    await apply(services, config([partner("acme")]))
    _, _, (offer_id,) = await services.submit_lead(
        lead("d-1"), actor=actor_for_system(), source=SRC
    )
    clock.advance(timedelta(minutes=20))  # the card sat in the outbox for 20 minutes
    await deliver_all(services)
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer.delivered_at == clock.now()
    assert offer.expires_at == clock.now() + timedelta(minutes=30)


async def test_repeat_intake_returns_the_same_lead(services):
    await apply(services, config([partner("acme")]))
    first, created1, _ = await services.submit_lead(
        lead("same"), actor=actor_for_system(), source=SRC
    )
    second, created2, offers2 = await services.submit_lead(
        lead("same"), actor=actor_for_system(), source=SRC
    )
    assert created1 and not created2 and offers2 == []
    assert first.public_id == second.public_id
    async with services.uow() as uow:
        offers = await uow.offers.list_for_lead(first.id)
    assert len(offers) == 1


async def test_permanent_send_failure_makes_offer_undeliverable_and_moves_on(services, slack):
    from bot.messaging import DeliveryError

    await apply(services, config([partner("acme", weight=5), partner("beta")]))
    slack.fail["C-acme"] = DeliveryError("channel_not_found", permanent=True)
    stored, _, (first,) = await services.submit_lead(
        lead("u-1"), actor=actor_for_system(), source=SRC
    )
    await deliver_all(services)
    _, offers, events = await _history(services, stored.id)
    assert offers[0].id == first and offers[0].status is OfferStatus.UNDELIVERABLE
    assert offers[1].status is OfferStatus.PENDING and offers[1].delivered_at is not None
    assert slack.offers_to("C-beta")
    notice = slack.notices_to("C0MANAGERS")[0]
    assert "channel_not_found" in " ".join(notice.lines)
    assert EventKind.UNDELIVERABLE in [e.kind for e in events]


async def test_transient_failures_are_retried_with_backoff(services, slack, clock):
    from bot.messaging import DeliveryError

    await apply(services, config([partner("acme")]))
    slack.fail["C-acme"] = DeliveryError("ratelimited", permanent=False, retry_after=7)
    _, _, (offer_id,) = await services.submit_lead(
        lead("t-1"), actor=actor_for_system(), source=SRC
    )
    await deliver_all(services)
    assert slack.offers_to("C-acme") == []
    await deliver_all(services)  # not due yet: nothing more is attempted
    del slack.fail["C-acme"]
    clock.advance(timedelta(seconds=7))
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 1
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status is OfferStatus.PENDING


async def test_partner_without_coverage_goes_straight_to_managers(services, slack):
    await apply(services, config([partner("acme")]))
    stored, _, offers = await services.submit_lead(
        lead("x-1", postcode="10115"), actor=actor_for_system(), source=SRC
    )
    assert offers == []
    await deliver_all(services)
    lead_row, _, events = await _history(services, stored.id)
    assert lead_row.status is DispatchStatus.UNASSIGNED
    assert events[-1].data["reason"] == "no partner covers DE-10115"
    assert slack.notices_to("C0MANAGERS")


async def test_leads_in_flight_keep_their_policy_version(services, clock):
    await apply(services, config([partner("acme"), partner("beta")], offer_timeout="30m"))
    stored, _, _ = await services.submit_lead(lead("v-1"), actor=actor_for_system(), source=SRC)
    await apply(services, config([partner("acme"), partner("beta")], offer_timeout="5m"))
    await deliver_all(services)
    async with services.uow() as uow:
        (offer,) = await uow.offers.list_for_lead(stored.id)
        fresh = await uow.leads.get(stored.id)
    assert fresh.policy_version == 1
    assert offer.expires_at - offer.delivered_at == timedelta(minutes=30)
    newer, _, _ = await services.submit_lead(lead("v-2"), actor=actor_for_system(), source=SRC)
    assert newer.policy_version == 2


async def test_a_card_carries_the_partners_time_zone_for_the_times_it_writes(services, slack):
    await apply(services, config([partner("acme", timezone="Europe/Berlin")]))
    await services.submit_lead(lead("tz-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    (card,) = slack.offers_to("C-acme")
    assert card.timezone == "Europe/Berlin" and card.deadline is not None
