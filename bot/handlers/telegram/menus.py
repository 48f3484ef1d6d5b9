"""Telegram's command menus (`setMyCommands`): partners see theirs (with /dm in private chats),
a partner's admins also availability in its groups, the managers' groups every manager command.

All are set at start and again after a newer configuration is applied (a sweep sees it:
TelegramUpdates.applied); an admin's own menu is set again the moment they link their account.
"""

from __future__ import annotations

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatMember,
)

from bot.bootstrap import Services
from bot.command_grammar import VERBS

PARTNER_MENU = ("help", "funnel", "open")
ADMIN_MENU = (*PARTNER_MENU, "pause", "resume", "capacity")  # a partner admin, in its groups
PRIVATE_MENU = (*PARTNER_MENU, "dm")  # /dm is answered in a private chat only
NOT_IN_MANAGERS_MENU = ("link", "dm")  # `/start CODE` links; managers get no lead DMs


def _menu(verbs: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(v, VERBS[v].does[:256]) for v in verbs]


async def set_menus(bot: Bot, services: Services) -> None:
    """Every menu: the partners', the private chats', each admin's, each managers' group's."""
    await bot.set_my_commands(_menu(PARTNER_MENU))
    await bot.set_my_commands(_menu(PRIVATE_MENU), scope=BotCommandScopeAllPrivateChats())
    await set_admin_menus(bot, services)
    async with services.uow() as uow:
        managers = await uow.partners.list_destinations(partner_id=None)
    every_verb = _menu(tuple(v for v in VERBS if v not in NOT_IN_MANAGERS_MENU))
    for dest in managers:
        if dest.platform == "telegram":
            await bot.set_my_commands(every_verb, scope=BotCommandScopeChat(int(dest.chat_id)))


async def set_admin_menus(bot: Bot, services: Services, *, user: str | None = None) -> int:
    """A partner admin's menu in each of its partner's groups, for every linked admin or for
    the Telegram `user` alone (just linked); returns how many menus were set."""
    async with services.uow() as uow:
        admins = await uow.members.list_admins_in_chats("telegram", user=user)
    for chat, who in admins:
        scope = BotCommandScopeChatMember(int(chat), int(who))
        await bot.set_my_commands(_menu(ADMIN_MENU), scope=scope)
    return len(admins)
