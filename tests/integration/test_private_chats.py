"""Members' private chats with the bot (Telegram DM copies): who gets them, and how they live
alongside the chats declared in leadbot.yaml across `config apply`."""

from __future__ import annotations

from sqlalchemy import update

from bot.dispatch.direct_messages import note_private_chat, set_direct_messages
from bot.store.tables import members
from tests.factories import apply, config, partner

BOB, CARLA = 2002, 3003


def document(*, bob: dict | None = None, chat: int = -1001, carla: bool = True) -> dict:
    members = [{"name": "Bob", "telegram": BOB, "role": "partner_admin", **(bob or {})}]
    if carla:
        members.append({"name": "Carla", "telegram": CARLA})
    acme = partner("acme", slack_channel=None, telegram_chat=chat, members=members)
    return config([acme])


async def started(services, telegram_id: int) -> bool:
    async with services.uow() as uow:
        actor = await uow.members.find_actor(platform="telegram", external_id=str(telegram_id))
    assert actor is not None
    return await services.run(
        note_private_chat, actor=actor, platform="telegram", chat_id=str(telegram_id)
    )


async def dm_chats(services) -> list[str]:
    async with services.uow() as uow:
        (pid, _, _) = await uow.partners.get_by_slug("acme")
        declared, dms, mentions = await uow.chats.offer_targets(pid)
        assert declared == await uow.partners.list_destinations(partner_id=pid)
        assert mentions == await uow.members.list_for_partner(pid)
        return [d.chat_id for d in dms]


async def test_only_started_linked_willing_members_get_dms(services):
    await apply(services, document())
    assert await dm_chats(services) == []  # nobody has written to the bot yet
    assert await started(services, BOB) is True
    assert await started(services, BOB) is False  # already known: one read, no write
    assert await dm_chats(services) == [str(BOB)]

    await apply(services, document(bob={"telegram_dm": False}))
    assert await dm_chats(services) == []  # the file's default
    async with services.uow() as uow:
        bob = await uow.members.find_actor(platform="telegram", external_id=str(BOB))
    await services.run(set_direct_messages, actor=bob, wanted=True)
    assert await dm_chats(services) == [str(BOB)]  # his own choice wins

    await started(services, CARLA)
    assert await dm_chats(services) == [str(BOB), str(CARLA)]
    await apply(services, document(carla=False))  # Carla leaves the partner
    assert await dm_chats(services) == [str(BOB)]
    await apply(services, document(bob={"telegram": 9999}, carla=False))  # a new account
    assert await dm_chats(services) == []


async def test_a_private_chat_declared_as_the_partners_chat_is_not_doubled(services):
    await apply(services, document(chat=BOB))  # a one-man partner: his own chat is the chat
    assert await started(services, BOB) is False
    assert await dm_chats(services) == []

    await apply(services, document())  # the partner gets a group; Bob's chat becomes a DM
    await started(services, BOB)
    assert await dm_chats(services) == [str(BOB)]
    await apply(services, document(chat=BOB))  # and back: declared again, no duplicate row
    assert await dm_chats(services) == []
    async with services.uow() as uow:
        (pid, _, _) = await uow.partners.get_by_slug("acme")
        declared = await uow.partners.list_destinations(partner_id=pid)
    assert [d.chat_id for d in declared] == [str(BOB)]


async def test_a_new_cards_mentions_come_with_its_chats_and_only_active_members(services):
    await apply(services, document())
    async with services.uow() as uow:
        (pid, _, _) = await uow.partners.get_by_slug("acme")
        _, _, mentions = await uow.chats.offer_targets(pid)
        assert mentions == [("Bob", "telegram", str(BOB)), ("Carla", "telegram", str(CARLA))]
        # a member switched off while still linked (as a purge or a hand edit may leave one)
        await uow.execute(update(members).where(members.c.name == "Carla").values(active=False))
        _, _, mentions = await uow.chats.offer_targets(pid)
        assert mentions == [("Bob", "telegram", str(BOB))]
        assert mentions == await uow.members.list_for_partner(pid)
