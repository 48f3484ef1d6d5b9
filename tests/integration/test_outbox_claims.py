"""What a sender may lease: due items, oldest first, none for a chat it is still sending to,
none leased to another sender, and no more than it asked for (a lead's webhook events going
out one at a time is shown in tests/handlers/test_webhooks.py)."""

from __future__ import annotations

from datetime import timedelta

from bot.store.outbox import OutboxKind
from tests.factories import apply, config, partner

LEASE = timedelta(minutes=2)


async def chats(services) -> tuple[int, int]:
    await apply(services, config([partner("acme"), partner("bolt")]))
    async with services.uow() as uow:
        ids = await uow.partners.ids_by_slug()
        found = [await uow.partners.list_destinations(partner_id=ids[s]) for s in ("acme", "bolt")]
    return found[0][0].id, found[1][0].id


async def queue(services, *items: tuple[OutboxKind, int | None]) -> list[int]:
    async with services.uow() as uow:
        queued = [
            await uow.outbox.enqueue(kind, now=services.ctx.now(), destination_id=dest)
            for kind, dest in items
        ]
        await uow.commit()
    return [item.id for item in queued]


async def claim(services, *, busy=(), limit=10, later=timedelta(0)) -> list[int]:
    async with services.uow() as uow:
        items = await uow.outbox.claim_due(
            now=services.ctx.now() + later, lease=LEASE, limit=limit, busy=busy
        )
        await uow.commit()
    return [item.id for item in items]


async def test_busy_chats_and_busy_webhooks_are_left_out(services):
    acme, bolt = await chats(services)
    to_acme, to_bolt, hook = await queue(
        services,
        (OutboxKind.NOTICE, acme),
        (OutboxKind.NOTICE, bolt),
        (OutboxKind.WEBHOOK, None),
    )
    assert await claim(services, busy={acme, None}) == [to_bolt]
    assert await claim(services, busy={bolt}) == [to_acme, hook]  # to_bolt is leased
    assert await claim(services) == []  # every item is leased now
    assert await claim(services, later=LEASE) == [to_acme, to_bolt, hook]  # leases ran out


async def test_no_more_than_the_limit_oldest_due_first(services):
    acme, bolt = await chats(services)
    queued = await queue(services, *[(OutboxKind.NOTICE, acme), (OutboxKind.NOTICE, bolt)] * 3)
    assert await claim(services, limit=4) == queued[:4]
    assert await claim(services, busy={acme}, limit=4) == [queued[5]]
    assert await claim(services, limit=4) == [queued[4]]
