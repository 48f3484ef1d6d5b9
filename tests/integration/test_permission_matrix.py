"""Who may do what, as design.md §7 and the README's command table say: every verb and every
button, for every kind of person, on Slack and on Telegram (people found by their identity on
that platform), through the command engine and the press handler both adapters call. A refusal
says why and changes nothing; an allowed action is done.

The same refusals through the real adapters, over HTTP: tests/handlers/test_slack_bad_input.py
and test_telegram_bad_input.py (a stranger, another partner's people, a partner assigning or
taking a lead back, a partner's manager verb), and the conversations in test_slack.py and
test_telegram.py (the allowed presses).
"""

from __future__ import annotations

import pytest

from bot.commands import CommandEngine
from bot.dispatch import accept_offer
from bot.dispatch.linking import ChatIdentity, invite_member
from bot.domain.actors import Source
from bot.handlers.presses import Ask, press
from tests.factories import MANAGER, SRC, SYSTEM, apply, config, lead, partner
from tests.handlers.dbstate import changed, snapshot

M, A, R, X, U = "manager", "partner admin", "partner rep", "other partner's admin", "unlinked"
ROLES = [M, A, R, X, U]
LINKED = {M, A, R, X}
OWN = {M, A, R}  # Acme's people and the managers: Acme's leads are theirs to answer

# verb line -> who may run it (Acme is the partner admin's and rep's own; Beta is the other's)
COMMANDS = {
    "help": LINKED,
    "funnel": LINKED,
    "funnel acme 30d": OWN,
    "open": LINKED,
    "partners": {M},
    "pause acme until 2031-01-01": {M, A},
    "resume acme": {M, A},
    "capacity acme 50": {M, A},
    "assign {lead} beta": {M},
    "why {lead}": {M},
    "who DE-80331": {M},
    "link {code}": {U},
    "dm off": {A, R, X},
}
# button -> (value, the answer its question gets, who may press it) on a card of Acme's
BUTTONS = {
    "Accept": ("o:{offer}:a", None, OWN),
    "Decline + reason": ("o:{offer}:d", "not_my_area", OWN),
    "Contacted": ("l:{lead}:c", None, OWN),
    "Qualified": ("l:{lead}:q", None, OWN),
    "Opportunity + value": ("l:{lead}:o", "18000", OWN),
    "Won + value": ("l:{lead}:w", "20000", OWN),
    "Lost + reason": ("l:{lead}:l", "price", OWN),
    "Assign to Beta (escalation)": ("a:{lead}:{beta}", None, {M}),
    "Take it back": ("r:{lead}", None, {M}),
}
REFUSALS = ("not for you", "not linked", "only managers", "already linked", "not done")
REFUSALS += ("not here",)
IDS = {
    "slack": {M: "U0ADA", A: "UACME", R: "URITA", X: "UBETA", U: "U0NOBODY"},
    "telegram": {M: "1001", A: "2002", R: "2003", X: "3003", U: "9999"},
}


@pytest.fixture
async def world(services):
    acme = partner("acme", capacity=1000, telegram_chat=-1002)
    acme["members"][0]["telegram"] = 2002
    acme["members"].append(
        {"name": "Rita Rep", "slack": "URITA", "telegram": 2003, "role": "partner_rep"}
    )
    beta = partner("beta", territories=["DE:81"], telegram_chat=-1003)
    beta["members"][0]["telegram"] = 3003
    await apply(services, config([acme, beta]))
    async with services.uow() as uow:
        ids = {"beta": (await uow.partners.get_by_slug("beta"))[0]}
    return services, ids


async def person(services, platform: str, role: str):
    async with services.uow() as uow:
        return await uow.members.find_actor(platform=platform, external_id=IDS[platform][role])


async def fresh(services, ids: dict, *, accepted: bool) -> dict:
    """A new lead offered to Acme (accepted by Acme's admin when the button is a stage)."""
    stored, _, offers = await services.submit_lead(lead(), actor=SYSTEM, source=SRC)
    offer = offers[0] if offers else None  # none while a manager has paused Acme
    if accepted:
        assert (await services.run(accept_offer, offer_id=offer, actor=MANAGER, source=SRC)).ok
    return {**ids, "lead": stored.id, "offer": offer, "public": stored.public_id}


@pytest.mark.parametrize("platform", ["slack", "telegram"])
@pytest.mark.parametrize("button", list(BUTTONS))
async def test_every_button_for_every_role(world, platform, button):
    services, ids = world
    template, answer, allowed = BUTTONS[button]
    for role in ROLES:
        actor = await person(services, platform, role)
        assert (actor is None) is (role == U)
        where = await fresh(services, ids, accepted=template.startswith(("l:", "r:")))
        value = template.format(**where)
        before = await snapshot(services)
        source = Source(platform)
        result = await press(services, actor, value, source=source)
        if isinstance(result, Ask):  # asked for the reason or the amount (only who may answer)
            assert role in allowed, f"{button}: {role} was asked"
            result = await press(services, actor, value, source=source, answer=answer)
        elif answer is not None:  # a refused person sends the answer anyway: still refused
            forged = await press(services, actor, value, source=source, answer=answer)
            assert not isinstance(forged, Ask) and not forged.ok
        assert not isinstance(result, Ask)
        cell = f"{button} by {role} on {platform}: {result.message}"
        assert result.ok is (role in allowed), cell
        if not result.ok:
            assert any(r in result.message.lower() for r in REFUSALS), cell
            assert changed(before, await snapshot(services)) == {}, cell


@pytest.mark.parametrize("platform", ["slack", "telegram"])
@pytest.mark.parametrize("line", list(COMMANDS))
async def test_every_verb_for_every_role(world, platform, line):
    services, ids = world
    engine = CommandEngine(services, source=Source(platform))
    for role in ROLES:
        actor = await person(services, platform, role)
        where = await fresh(services, ids, accepted=False)
        code = await services.run(invite_member, name="Rep acme", partner_slug="acme")
        typed = line.format(lead=where["public"], code=code)
        identity = ChatIdentity(platform, IDS[platform][role])
        before = await snapshot(services)
        report = await engine.run(actor, typed, identity=identity)
        said = " | ".join([report.title, *(" ".join(r) for r in report.rows)])
        cell = f"{typed!r} by {role} on {platform}: {said}"
        refused = any(r in said.lower() for r in REFUSALS)
        allowed = COMMANDS[line] if not (line.startswith("dm") and platform == "slack") else ()
        assert refused is (role not in allowed), cell  # lead DMs are Telegram's: "not here"
        if refused:
            assert changed(before, await snapshot(services)) == {}, cell
