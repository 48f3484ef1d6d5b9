"""Opening a round of offers (bot/store/rounds.py): on PostgreSQL one statement, on SQLite
three; either way the rotation, the lead's move and its offers all happen, or the lead had
changed and no offer is made."""

from __future__ import annotations

from bot.dispatch.intake import intake_lead
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferMode, OfferStatus
from tests.factories import SRC, SYSTEM, apply, config, lead, partner

TRAIL = [{"round": 1, "why": {"acme": "covers DE-80"}}]


async def stored(services):
    await apply(services, config([partner("acme"), partner("bolt"), partner("core")]))
    new, _created = await services.run(intake_lead, lead("r-1"), actor=SYSTEM, source=SRC)
    async with services.uow() as uow:
        return new, await uow.partners.ids_by_slug()


async def rotation(services, ids):
    async with services.uow() as uow:
        state = await uow.partners.load_state(
            sorted(ids.values()), now=services.ctx.now(), daily_caps={}
        )
    return {pid: (s["rr_current"], s["last_offered_at"]) for pid, s in state.items()}


async def test_a_round_moves_the_lead_saves_the_rotation_and_makes_the_offers_in_order(services):
    new, ids = await stored(services)
    now = services.ctx.now()
    chosen = [(ids["core"], "nearest"), (ids["acme"], "covers DE-80")]
    async with services.uow() as uow:
        locked = await uow.leads.lock(new.id)
        opened = await uow.rounds.open(
            locked,
            rotation={ids["acme"]: -1.5, ids["bolt"]: 2.0, ids["core"]: -0.5},
            chosen=chosen,
            mode=OfferMode.BROADCAST,
            explanation=TRAIL,
            now=now,
        )
        await uow.commit()
    assert opened is not None
    assert [(o.partner_id, o.why) for o in opened] == chosen
    assert opened[0].id < opened[1].id  # made in the order chosen
    assert {(o.lead_id, o.round, o.mode, o.status, o.created_at) for o in opened} == {
        (new.id, 1, OfferMode.BROADCAST, OfferStatus.PENDING, now)
    }
    async with services.uow() as uow:
        moved = await uow.leads.get(new.id)
        assert await uow.leads.get_explanation(new.id) == TRAIL
        assert [o.id for o in await uow.offers.list_for_lead(new.id)] == [o.id for o in opened]
    assert (moved.status, moved.round, moved.held_until) == (DispatchStatus.OFFERED, 1, None)
    assert await rotation(services, ids) == {
        ids["acme"]: (-1.5, now),
        ids["bolt"]: (2.0, None),  # weighed, not offered
        ids["core"]: (-0.5, now),
    }


async def test_a_lead_that_changed_gets_no_offer(services):
    new, ids = await stored(services)
    before = await rotation(services, ids)
    async with services.uow() as uow:
        locked = await uow.leads.lock(new.id)
        assert await uow.leads.cas(new.id, expect={}, now=services.ctx.now(), round=5)
        opened = await uow.rounds.open(
            locked,
            rotation={ids["acme"]: 3.0},
            chosen=[(ids["acme"], "covers DE-80")],
            mode=OfferMode.EXCLUSIVE,
            explanation=TRAIL,
            now=services.ctx.now(),
        )
        assert opened is None
        assert await uow.offers.list_for_lead(new.id) == []
        assert (await uow.leads.get(new.id)).status is DispatchStatus.NEW
    # the caller does not commit then: nothing of the round is kept
    assert await rotation(services, ids) == before
