"""The chat commands' grammar (design.md §7): each verb's usage, what it does, and who may run
it; the limits on what is typed. The engine (bot/commands.py) runs them; the Telegram menus
list them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.actors import Role


class Usage(Exception):
    """Bad input: the message is shown to the person, with the verb's usage line."""


@dataclass(frozen=True)
class Verb:
    usage: str
    does: str
    roles: frozenset[Role]


MANAGERS = frozenset({Role.MANAGER, Role.SYSTEM})
ADMINS = MANAGERS | {Role.PARTNER_ADMIN}
EVERYONE = ADMINS | {Role.PARTNER_REP}
PARTNER_PEOPLE = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_REP})

VERBS: dict[str, Verb] = {
    "help": Verb("help", "what you may run", EVERYONE),
    "funnel": Verb(
        "funnel [partner|all] [7d|30d|90d|YYYY-MM|from..to] [by source]",
        "what happened to the leads of a period",
        EVERYONE,
    ),
    "open": Verb("open", "pending offers and unassigned leads, oldest first", EVERYONE),
    "partners": Verb("partners", "availability, capacity, acceptance, speed", MANAGERS),
    "pause": Verb("pause [partner] [until YYYY-MM-DD]", "stop new leads to a partner", ADMINS),
    "resume": Verb("resume [partner]", "send leads to a partner again", ADMINS),
    "capacity": Verb("capacity [partner] N", "open leads a partner may hold", ADMINS),
    "assign": Verb("assign LEAD PARTNER", "give a lead to a partner (logged)", MANAGERS),
    "why": Verb("why LEAD", "how routing decided", MANAGERS),
    "who": Verb("who [CC-]POSTCODE [specialty]", "who covers it, in rank order", MANAGERS),
    "link": Verb("link CODE", "link this chat account to your member entry", EVERYONE),
    "dm": Verb("dm [on|off]", "new leads also as a DM to you (Telegram)", PARTNER_PEOPLE),
}
MAX_LINE, MAX_WORD = 500, 64  # characters: slugs, lead ids, periods and codes are shorter
WHO = {MANAGERS: "managers", ADMINS: "managers and partner admins", PARTNER_PEOPLE: "partners"}
