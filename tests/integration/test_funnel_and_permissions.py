"""Stages after accept, manual assignment, and who may press what."""

from __future__ import annotations

from bot.dispatch import accept_offer, assign_lead, decline_offer, set_stage
from bot.domain.actors import Actor, Role
from bot.domain.leads import DispatchStatus, Stage
from bot.domain.offers import OfferStatus
from bot.messaging import CardState, DeliveryError
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner


async def _accepted_lead(services):
    await apply(services, config([partner("acme"), partner("beta", territories=["DE:1"])]))
    stored, _, (offer_id,) = await services.submit_lead(lead("f-1"), actor=SYSTEM, source=SRC)
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    return stored, offer_id, bob


async def test_stages_move_forward_with_values_and_reasons(services, slack):
    stored, offer_id, bob = await _accepted_lead(services)

    def step(stage, **kw):
        return services.run(set_stage, lead_id=stored.id, stage=stage, actor=bob, source=SRC, **kw)

    assert (await step(Stage.QUALIFIED)).ok  # skipping forward is fine
    refused = await step(Stage.CONTACTED)
    assert not refused.ok and "cannot go back" in refused.message
    refused = await step(Stage.OPPORTUNITY)
    assert not refused.ok and "needs a value" in refused.message
    assert (await step(Stage.OPPORTUNITY, value=18000)).ok
    refused = await step(Stage.LOST, reason="bored")
    assert not refused.ok and "price, competitor" in refused.message
    assert (await step(Stage.WON, value=17500)).ok
    await deliver_all(services)
    card = slack.latest_card(offer_id)
    assert card.state is CardState.WON and card.stage == "won" and card.buttons == []
    async with services.uow() as uow:
        final = await uow.leads.get(stored.id)
        events = [e for e in await uow.events.list_for_lead(stored.id) if e.kind == "stage_changed"]
    assert final.status is DispatchStatus.CLOSED and final.stage_value == 17500
    assert [(e.data["from"], e.data["to"]) for e in events] == [
        ("accepted", "qualified"),
        ("qualified", "opportunity"),
        ("opportunity", "won"),
    ]
    assert events[-1].actor.startswith("Rep acme")
    assert not (await step(Stage.LOST, reason="price")).ok  # closed: only a manager reopens
    reopened = await services.run(
        set_stage, lead_id=stored.id, stage=Stage.QUALIFIED, actor=MANAGER, source=SRC
    )
    assert reopened.ok


async def test_other_partners_and_strangers_change_nothing(services):
    await apply(services, config([partner("acme"), partner("beta")]))
    stored, _, (offer_id,) = await services.submit_lead(lead("p-1"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        offer = await uow.offers.get(offer_id)
    acme = await actor_for(services, "UACME")
    beta = await actor_for(services, "UBETA")
    outsider = beta if offer.partner_id == acme.partner_id else acme
    for press in (accept_offer, decline_offer):
        kwargs = {"reason": "not_a_fit"} if press is decline_offer else {}
        outcome = await services.run(press, offer_id=offer_id, actor=outsider, source=SRC, **kwargs)
        assert not outcome.ok and outcome.message.startswith("Not for you")
    rep = Actor(name="Rep", role=Role.PARTNER_REP, partner_id=outsider.partner_id)
    refused = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="acme", actor=rep, source=SRC
    )
    assert not refused.ok and refused.message == "Only managers can assign leads."
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status is OfferStatus.PENDING
        kinds = [e.kind for e in await uow.events.list_for_lead(stored.id)]
    assert kinds == ["received", "offered"]


async def test_the_people_of_a_partner_taken_out_of_leadbot_yaml_are_unlinked(services):
    """As a member taken out of the file: they can press and ask nothing any more."""
    stored, _offer_id, _bob = await _accepted_lead(services)
    await apply(services, config([partner("beta", territories=["DE:1"])]))  # ACME is gone
    async with services.uow() as uow:
        assert await uow.members.find_actor(platform="slack", external_id="UACME") is None
        assert await uow.members.find_actor(platform="slack", external_id="UBETA") is not None


async def test_an_offer_to_a_partner_taken_out_of_leadbot_yaml_moves_on_at_the_next_sweep(
    services, slack
):
    """Nobody can answer it any more (its people are unlinked with it): withdrawn, and the
    lead goes to the next partner, without waiting for the window to run out."""
    await apply(services, config([partner("acme", priority=1), partner("beta", priority=2)]))
    stored, _, (offer_id,) = await services.submit_lead(lead("f-r"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    await apply(services, config([partner("beta", priority=2)]))
    assert (await services.scheduler.sweep()).withdrawn == 1
    await deliver_all(services)
    async with services.uow() as uow:
        assert (await uow.offers.get(offer_id)).status is OfferStatus.WITHDRAWN
        assert (await uow.leads.get(stored.id)).status is DispatchStatus.OFFERED
    assert len(slack.offers_to("C-beta")) == 1
    assert slack.latest_card(offer_id).contact is None
    assert (await services.scheduler.sweep()).withdrawn == 0


async def test_the_contact_never_shows_in_a_chat_the_partner_no_longer_has(services, slack):
    """ACME's card is in C-acme; leadbot.yaml then gives that channel to Beta (ACME moves to
    C-acme-new). ACME accepts: the old card is edited, without the contact."""
    await apply(services, config([partner("acme"), partner("beta", territories=["DE:1"])]))
    _stored, _, (offer_id,) = await services.submit_lead(lead("f-h"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    moved = [partner("acme", slack_channel="C-acme-new")]
    await apply(
        services, config([*moved, partner("beta", territories=["DE:1"], slack_channel="C-acme")])
    )
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    await deliver_all(services)
    edits = [s.content for s in slack.sent if s.target.chat_id == "C-acme" and s.kind == "edit"]
    assert edits and edits[-1].state is CardState.WON
    assert all(getattr(card, "contact", None) is None for card in edits)


async def test_a_manager_may_answer_for_a_partner_and_bad_reasons_are_refused(services):
    await apply(services, config([partner("acme")]))
    _, _, (offer_id,) = await services.submit_lead(lead("m-1"), actor=SYSTEM, source=SRC)
    bad = await services.run(
        decline_offer, offer_id=offer_id, actor=MANAGER, reason="meh", source=SRC
    )
    assert not bad.ok and "not_my_area" in bad.message
    assert (
        await services.run(
            decline_offer, offer_id=offer_id, actor=MANAGER, reason="duplicate", source=SRC
        )
    ).ok


async def test_manual_assign_withdraws_the_offer_and_sends_the_partner_the_lead(services, slack):
    await apply(services, config([partner("acme"), partner("beta", territories=["DE:1"])]))
    stored, _, (offer_id,) = await services.submit_lead(lead("a-1"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    outcome = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="beta", actor=MANAGER, source=SRC
    )
    assert outcome.ok, outcome.message
    await deliver_all(services)
    assert slack.latest_card(offer_id).state is CardState.CLOSED
    beta_card = slack.offers_to("C-beta")[-1]
    assert beta_card.state is CardState.WON and beta_card.contact.name == "Max Kunde"
    assert beta_card.status_line.startswith("Accepted by Ada Admin")
    again = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="acme", actor=MANAGER, source=SRC
    )
    assert not again.ok and "already accepted" in again.message
    unknown = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="nope", actor=MANAGER, source=SRC
    )
    assert not unknown.ok


async def test_a_partner_leadbot_cannot_reach_is_not_given_a_lead(services, slack):
    """Its only chat is broken: assigning is refused and changes nothing."""
    await apply(services, config([partner("acme")], max_rounds=1))
    async with services.uow() as uow:
        acme = (await uow.partners.ids_by_slug())["acme"]
        (dest,) = await uow.partners.list_destinations(partner_id=acme)
        await uow.partners.mark_broken(dest.id, reason="channel_not_found", now=services.ctx.now())
        await uow.commit()
    stored, _, _ = await services.submit_lead(lead("a-u"), actor=SYSTEM, source=SRC)
    out = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="acme", actor=MANAGER, source=SRC
    )
    assert not out.ok and "has no chat Leadbot can reach" in out.message
    async with services.uow() as uow:
        assert (await uow.leads.get(stored.id)).status is DispatchStatus.UNASSIGNED
        assert await uow.offers.list_for_lead(stored.id) == []  # routing left it out too


async def test_an_assignment_whose_card_fails_for_good_is_told_to_the_managers(services, slack):
    await apply(services, config([partner("acme"), partner("beta", territories=["DE:1"])]))
    stored, _, _ = await services.submit_lead(lead("a-f"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    slack.fail["C-beta"] = DeliveryError("invalid_blocks", permanent=True)
    out = await services.run(
        assign_lead, lead_id=stored.id, partner_slug="beta", actor=MANAGER, source=SRC
    )
    assert out.ok, out.message
    await deliver_all(services)
    (told,) = [n for n in slack.notices_to("C0MANAGERS") if "did not reach" in n.title]
    assert told.title == f"Lead {stored.public_id}, assigned to Beta, did not reach them"
    assert "invalid_blocks" in told.lines[0] and "take it back" in told.lines[1]


async def test_broadcast_withdraws_every_other_copy(services, slack, telegram):
    await apply(
        services,
        config(
            [partner("acme"), partner("beta", telegram_chat=-100222), partner("gamma")],
            mode="broadcast",
            broadcast_size=3,
        ),
    )
    stored, _, offers = await services.submit_lead(lead("bc-1"), actor=SYSTEM, source=SRC)
    assert len(offers) == 3
    await deliver_all(services)
    assert telegram.offers_to("-100222")  # beta is on both platforms
    gamma = await actor_for(services, "UGAMMA")
    async with services.uow() as uow:
        mine = next(
            o for o in await uow.offers.list_for_lead(stored.id) if o.partner_id == gamma.partner_id
        )
    assert (await services.run(accept_offer, offer_id=mine.id, actor=gamma, source=SRC)).ok
    await deliver_all(services)
    for other in (o for o in offers if o != mine.id):
        card = slack.latest_card(other)
        assert card.state is CardState.CLOSED and card.status_line == "Taken by Gamma"
        assert card.teaser == [] and card.contact is None
    edits = [s for s in telegram.sent if s.kind == "edit"]
    assert edits and edits[-1].content.status_line == "Taken by Gamma"


async def test_taken_back_a_broadcast_lead_goes_to_the_partner_who_never_answered(services):
    """ACME and Beta had the lead at once; ACME was first, so Beta's copy was withdrawn. When
    a manager takes it back from ACME, Beta (which never declined) gets it, not the managers."""
    from bot.dispatch.reassign import reassign_lead

    both = [partner("acme"), partner("beta")]
    await apply(services, config(both, mode="broadcast", broadcast_size=2))
    stored, _, offer_ids = await services.submit_lead(lead("b-t"), actor=SYSTEM, source=SRC)
    acme = await actor_for(services, "UACME")
    async with services.uow() as uow:
        (mine,) = [i for i in offer_ids if (await uow.offers.get(i)).partner_id == acme.partner_id]
    assert (await services.run(accept_offer, offer_id=mine, actor=acme, source=SRC)).ok
    taken = await services.run(reassign_lead, lead_id=stored.id, actor=MANAGER, source=SRC)
    assert taken.ok and "offered to the next partner" in taken.message
    async with services.uow() as uow:
        offers = await uow.offers.list_for_lead(stored.id)
    (again,) = [o for o in offers if o.status is OfferStatus.PENDING]
    assert again.partner_id != acme.partner_id  # Beta's turn; ACME had its go


async def test_a_card_deleted_before_accept_is_posted_again_with_the_contact(services, slack):
    """The edit that brings the contact after Accept finds the card gone (someone deleted it):
    the card is posted again, once, with the contact; later edits go to the new one."""
    await apply(services, config([partner("acme")]))
    stored, _, (offer_id,) = await services.submit_lead(lead("f-d"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    deleted = slack.sent[-1].ref
    edit = slack.edit_offer

    async def edit_unless_deleted(target, ref, card):  # type: ignore[no-untyped-def]
        if ref == deleted:
            raise DeliveryError("message_not_found", permanent=True)
        await edit(target, ref, card)

    slack.edit_offer = edit_unless_deleted  # type: ignore[method-assign]
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    await deliver_all(services)
    again = slack.offers_to("C-acme")
    assert len(again) == 2 and again[-1].state is CardState.WON
    assert again[-1].contact is not None and again[-1].contact.name == "Max Kunde"
    await services.run(set_stage, lead_id=stored.id, stage=Stage.CONTACTED, actor=bob, source=SRC)
    await deliver_all(services)
    assert len(slack.offers_to("C-acme")) == 2  # not posted a third time
    assert slack.latest_card(offer_id).stage == "contacted"
