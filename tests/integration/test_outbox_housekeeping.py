"""The outbox does not grow for ever: items sent or skipped over a week ago are deleted by the
sweep (once an hour), in batches; pending and failed items, and recent ones, stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot import sweep
from bot.store.tables import offer_messages, outbox
from tests.conftest import deliver_all
from tests.factories import SRC, SYSTEM, apply, config, lead, partner


async def statuses(services) -> dict[str, int]:
    async with services.uow() as uow:
        rows = await uow.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
        return {status: n for status, n in rows}


async def done_ago(services, item_ids, age: timedelta) -> None:
    """Those items were done (and due) `age` ago."""
    at = services.ctx.now() - age
    async with services.uow() as uow:
        where = outbox.c.id.in_(list(item_ids))
        await uow.execute(update(outbox).where(where).values(done_at=at, next_attempt_at=at))
        await uow.commit()


async def test_items_done_over_a_week_ago_are_cleared_hourly(services, clock, monkeypatch):
    monkeypatch.setattr(sweep, "CLEAR_BATCH", 2)  # several short transactions
    await apply(services, config([partner("acme")]))
    for i in range(5):
        await services.submit_lead(lead(f"h-{i}"), actor=SYSTEM, source=SRC)
    await deliver_all(services)
    async with services.uow() as uow:
        items = list((await uow.execute(select(outbox.c.id).order_by(outbox.c.id))).scalars())
        failed, waiting, recent = items[:3]
        for item, status in ((failed, "failed"), (waiting, "pending")):  # not after a week
            await uow.execute(update(outbox).where(outbox.c.id == item).values(status=status))
        await uow.commit()
    assert len(items) >= 5 and (await statuses(services))["sent"] == len(items) - 2
    await done_ago(services, items, timedelta(days=8))
    await done_ago(services, [recent], timedelta(days=6))  # not a week yet

    assert (await services.scheduler.sweep()).cleared == len(items) - 3
    assert await statuses(services) == {"failed": 1, "pending": 1, "sent": 1}
    await done_ago(services, [recent], timedelta(days=8))
    assert (await services.scheduler.sweep()).cleared == 0  # at most once an hour
    clock.advance(timedelta(minutes=61))
    assert (await services.scheduler.sweep()).cleared == 1
    left = await statuses(services)
    assert "sent" not in left and left["failed"] == 1
    await done_ago(services, [failed, waiting], timedelta(days=31))
    clock.advance(timedelta(minutes=61))
    assert (await services.scheduler.sweep()).cleared == 1  # given up a month ago
    async with services.uow() as uow:
        kept = (await uow.execute(select(outbox.c.id, outbox.c.status))).all()
    assert failed not in {i for i, _ in kept} and (waiting, "pending") in kept  # pending: never
    async with services.uow() as uow:  # what the cards were stays recorded
        shown = (await uow.execute(select(func.count()).select_from(offer_messages))).scalar()
    assert shown == 5
