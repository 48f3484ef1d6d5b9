"""The chat commands' grammar (design.md §7): each verb's usage, what it does, and who may run
it; the limits on what is typed; how `who`'s words read. The engine (bot/commands.py) runs
them; the Telegram menus list them.
"""

from __future__ import annotations

from collections.abc import Collection
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


@dataclass(frozen=True)
class Where:
    """What `who` asks about."""

    country: str
    postcode: str
    specialty: str | None


def parse_where(
    args: list[str], *, specialties: Collection[str], countries: Collection[str]
) -> Where:
    """`who`'s words: [CC-]POSTCODE and maybe a specialty. `specialties`: those partners have;
    `countries`: those they cover (one of them: it need not be said)."""
    if not 1 <= len(args) <= 3:
        raise Usage("Give a postcode, and a specialty if you like")
    # a postcode may be two words (GB 'SW1A 1AA', NL '1012 AB'): a second word with a digit, or
    # of one or two letters, is its second half unless it names a specialty
    half = len(args) == 2 and args[1].lower() not in specialties and _postcode_half(args[1])
    words, more = (args[:2], args[2:]) if half or len(args) == 3 else (args[:1], args[1:])
    where = " ".join(words).upper().replace(":", "-")
    # a postcode may hold a dash of its own (PL 00-950, PT 1000-001): only letters before the
    # first dash name a country
    head, dash, rest = where.partition("-")
    named = dash and (head.isalpha() or not head)
    country, postcode = (head, rest) if named else ("", where)
    if not postcode:
        raise Usage("Give a postcode, like DE-80331")
    if not country:
        if len(countries) != 1:
            raise Usage("Say which country, like DE-80331")
        (country,) = countries
    if len(country) != 2 or not country.isalpha():
        raise Usage(f"'{country[:10]}' is not a country code")
    return Where(country, postcode, more[0].lower() if more else None)  # as leads give them


def _postcode_half(word: str) -> bool:
    """Whether `word` reads as the second half of a postcode ('1AA', 'AB', '55')."""
    return any(c.isdigit() for c in word) or len(word) <= 2
