"""chat_gone and chat_back: the platform says the bot was removed from a chat (or blocked in a
private one), or is back in it. Telegram sends this as a `my_chat_member` update."""

from __future__ import annotations

from bot.dispatch.common import notify_managers
from bot.dispatch.context import Context
from bot.dispatch.delivery import tell_broken
from bot.dispatch.passing_on import pass_on_pending
from bot.messaging import Notice
from bot.store.uow import UnitOfWork


async def chat_gone(
    uow: UnitOfWork, ctx: Context, *, platform: str, chat_id: str, reason: str
) -> list[str]:
    """Mark every destination in the chat broken, as a failed send to it would. Pending offers
    shown (or queued) only there become undeliverable and their leads move on; the managers are
    told once. A rep's private chat only stops getting DMs. Returns the leads passed on.

    `reason` reads like a send error's: "telegram: the bot was removed from the group".
    """
    now = ctx.now()
    passed_on: list[str] = []
    for dest in await uow.chats.find(platform=platform, chat_id=chat_id):
        if not await uow.partners.mark_broken(dest.id, reason=reason, now=now):
            continue  # known broken already: the managers were told when it broke
        if dest.member_id is not None:
            continue  # a rep blocked the bot: no more DMs to them, nothing else changes
        moved = await pass_on_pending(uow, ctx, [dest], reason)
        await tell_broken(uow, ctx, dest, reason, passed_on=moved)
        passed_on += moved
    await uow.commit()
    return passed_on


async def chat_back(
    uow: UnitOfWork, ctx: Context, *, platform: str, chat_id: str, by: str | None = None
) -> bool:
    """The bot is back in a chat marked broken: cards go there again, and the managers hear
    it (a rep unblocking the bot just gets DMs again). True if anything was marked broken.

    This clears the mark directly rather than waiting for `leadbot config apply`: the platform
    itself says the bot can post there, and every lead meanwhile skips that partner.
    """
    back = []
    for dest in await uow.chats.list_broken(platform=platform, chat_id=chat_id):
        if await uow.chats.clear_broken(dest.id) and dest.member_id is None:
            back.append(dest)
    for dest in back:
        whose = (
            "The managers'"
            if dest.partner_id is None
            else f"{await uow.partners.get_name(dest.partner_id)}'s"
        )
        lines = [f"{by} added the bot back." if by else "The bot was added back."]
        lines.append("New leads go there again.")
        notice = Notice(title=f"{whose} {platform} chat {chat_id} is back", lines=lines)
        await notify_managers(uow, ctx, notice)
    await uow.commit()
    return bool(back)


async def is_declared_chat(
    uow: UnitOfWork, _ctx: Context, *, partner_id: int | None, platform: str, chat_id: str
) -> bool:
    """Whether `chat_id` is one of the partner's declared chats on `platform` (the managers'
    when `partner_id` is None)."""
    chats = await uow.partners.list_destinations(partner_id=partner_id)
    return any(d.platform == platform and d.chat_id == chat_id for d in chats)


async def is_managers_chat(uow: UnitOfWork, ctx: Context, *, platform: str, chat_id: str) -> bool:
    """Whether `chat_id` is one of the managers' declared chats on `platform`."""
    return await is_declared_chat(uow, ctx, partner_id=None, platform=platform, chat_id=chat_id)
