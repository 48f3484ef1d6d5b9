"""`leadbot erase`'s use case: a person asks to be forgotten. Their data goes from the contact,
the free text, the audit log, the queued webhooks and the cards; the counts stay."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.dispatch import accept_offer, set_stage
from bot.dispatch.erasure import erase_person
from bot.domain.actors import Source
from bot.domain.errors import InvalidInput
from bot.domain.leads import Contact, Stage
from bot.domain.periods import parse_period
from bot.messaging import CardState
from bot.reports.funnel import funnel_all
from bot.store.tables import metadata
from tests.conftest import deliver_all
from tests.factories import MANAGER, SRC, SYSTEM, actor_for, apply, config, lead, partner

MAX = Contact(
    name="Maximilian Kundenmann",
    email="Maximilian.Kundenmann@Example.com",
    phone="+49 89 7654321",
    company="Kundenmann Heizung GmbH",
    street="Sonnenweg 12",
)
OTHER = Contact(name="Erika Musterfrau", email="erika@example.org", phone="+49 30 5550123")
SECRETS = [  # what must be gone: every value, and the phone's bare digits
    "Maximilian", "Kundenmann", "maximilian.kundenmann@example.com", "7654321", "Sonnenweg",
]  # fmt: skip


def document() -> dict[str, Any]:
    doc = config([partner("acme")])
    doc["webhooks"] = [
        {
            "url": "https://crm.example.com/hooks/leadbot",
            "secret_env": "CRM_WEBHOOK_SECRET_FOR_TESTS",
            "events": ["lead.created", "offer.accepted", "lead.stage_changed"],
        }
    ]
    return doc


async def dump(services) -> str:
    """Every row of every table, as text: what the database holds, wherever it is."""
    rows = []
    async with services.uow() as uow:
        for table in metadata.sorted_tables:
            rows += [dict(r._mapping) for r in await uow.execute(select(table))]
    return json.dumps(rows, default=str).lower()


async def funnel_rows(services, clock) -> list[Any]:
    async with services.uow() as uow:
        rows, total = await funnel_all(uow, parse_period("30d", now=clock.now()))
    return [vars(f) for f in [*rows, total]]


async def test_erase_by_email_removes_the_person_everywhere_and_keeps_the_counts(
    services, slack, clock
):
    await apply(services, document())
    # the CRM's idempotency key is the address, and the person wrote their number in the request
    first, _, (offer_id,) = await services.submit_lead(
        lead(
            "idem:website:maximilian.kundenmann@example.com",
            contact=MAX,
            need="Please call 089 7654321 after five",
        ),
        actor=SYSTEM,
        source=SRC,
    )
    again, _, _ = await services.submit_lead(
        # a web form's lead: its id is a digest of what the person posted
        lead("form:" + "5e" * 20, contact=Contact(email="  maximilian.KUNDENMANN@example.com ")),
        actor=SYSTEM,
        source=SRC,
    )
    other, _, _ = await services.submit_lead(
        lead("crm-3", contact=OTHER, postcode="80469"), actor=SYSTEM, source=SRC
    )
    await deliver_all(services)
    bob = await actor_for(services, "UACME")
    assert (await services.run(accept_offer, offer_id=offer_id, actor=bob, source=SRC)).ok
    await services.run(
        set_stage, lead_id=first.id, stage=Stage.CONTACTED, actor=bob, source=Source.SLACK
    )
    await deliver_all(services)
    assert slack.latest_card(offer_id).contact == MAX  # Bob took it: he sees the person
    before = await funnel_rows(services, clock)
    assert "kundenmann" in await dump(services)

    # a dry run says what would go, and changes nothing
    asked = {"email": " MAXIMILIAN.Kundenmann@example.COM ", "actor": MANAGER, "source": Source.CLI}
    preview = await services.run(erase_person, **asked, dry_run=True)
    assert preview.leads == [first.public_id, again.public_id]
    assert preview.cards == 2  # Bob's card, and the offer of the second one (its request)
    async with services.uow() as uow:
        assert await uow.leads.get_contact(first.id) == MAX

    done = await services.run(erase_person, **asked)
    assert done == preview
    assert done.still_open == [first.public_id, again.public_id]  # accepted, and still offered
    edits_before = len(slack.sent)
    await deliver_all(services)
    card = slack.latest_card(offer_id)  # Bob's card, redrawn without the person
    assert len(slack.sent) > edits_before and card.state is CardState.WON
    assert card.contact is None and "contact erased on request" in card.status_line
    assert all(label != "Request" for label, _ in card.teaser)
    assert card.stage == "contacted" and card.buttons  # the lead goes on being worked

    everything = await dump(services)
    for value in SECRETS:
        assert value.lower() not in everything, value
    # the full postcode as a value of its own: random tokens and digests (claims, event ids)
    # may hold these five digits by chance (a red CI run on PostgreSQL)
    assert not re.search(r"(?<![0-9a-z])80331(?![0-9a-z])", everything)
    assert "erika@example.org" in everything  # somebody else's lead is untouched
    async with services.uow() as uow:
        kept = await uow.leads.get(first.id)
        formed = await uow.leads.get(again.id)
        events = await uow.events.list_for_lead(first.id)
        assert await uow.leads.get_contact(other.id) == OTHER
    assert (kept.postcode, kept.city, kept.need) == ("803", "München", None)
    assert kept.external_id == f"erased:{first.public_id}" and kept.stage is Stage.CONTACTED
    assert formed.external_id == f"erased:{again.public_id}"  # the digest of their data goes
    assert events[-1].kind == "erased" and events[-1].data == {"by": "request", "cards": 1}
    assert await funnel_rows(services, clock) == before  # reports do not change

    # done once: the address is nowhere any more
    assert (await services.run(erase_person, **asked)).leads == []


async def test_erase_by_phone_matches_every_way_of_writing_it(services):
    await apply(services, document())
    same = ["+49 30 1234567", "0049 (30) 123-4567", "030/1234567", "0301234567"]
    leads = [
        (await services.submit_lead(lead(f"p-{i}", contact=Contact(phone=p)), actor=SYSTEM,
                                    source=SRC))[0]
        for i, p in enumerate([*same, "+43 30 1234567", "+49 30 1234568"])
    ]  # fmt: skip
    done = await services.run(
        erase_person, phone="+49 (0)30 1234567", actor=MANAGER, source=Source.CLI
    )
    assert done.leads == [x.public_id for x in leads[: len(same)]]  # not Austria, not ...68
    async with services.uow() as uow:
        assert (await uow.leads.get_contact(leads[-2].id)).phone == "+43 30 1234567"
        assert (await uow.leads.get_contact(leads[0].id)).erased == "request"


@pytest.mark.parametrize(
    ("asked", "why"),
    [
        ({}, "exactly one"),
        ({"email": "a@example.com", "phone": "+49 30 1234567"}, "exactly one"),
        ({"email": "not an address"}, "not an e-mail address"),
        ({"phone": "12345"}, "too few digits"),
        ({"phone": "call me"}, "not a phone number"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(services, asked, why):
    await apply(services, document())
    stored, _, _ = await services.submit_lead(lead("b-1", contact=MAX), actor=SYSTEM, source=SRC)
    with pytest.raises(InvalidInput, match=why):
        await services.run(erase_person, **asked, actor=MANAGER, source=Source.CLI)
    async with services.uow() as uow:
        assert await uow.leads.get_contact(stored.id) == MAX
