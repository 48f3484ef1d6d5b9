"""The public form endpoint: a website's plain HTML form posts leads straight to Leadbot."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.handlers.http import create_app
from bot.store.tables import leads
from tests.factories import apply, config, partner

SITE = "https://www.example-manufacturer.com"
FORM = {
    "key": "heat-pump-request",
    "source": "website",
    "allowed_origins": [SITE],
    "redirect": f"{SITE}/thanks",
    "fields": {
        "name": "contact.name",
        "mail": "contact.email",
        "plz": "postcode",
        "land": "country",
        "wish": "need",
    },
}
QUOTE = {  # a site that rates its own leads, and says so in its mapping
    "key": "quote",
    "source": "website",
    "allowed_origins": [SITE],
    "fields": {"budget": "estimated_value", "urgency": "temperature"},
}
GOOD = {
    "name": "Max Kunde",
    "mail": "max@example.com",
    "plz": "80331",
    "land": "DE",
    "wish": "A heat pump <b>please</b>",
    "specialties": "heat-pump",
    "leadbot_hp": "",
}


@pytest.fixture
async def site(services):
    doc = config([partner("acme")])
    doc["forms"] = [FORM, QUOTE]
    await apply(services, doc)
    transport = httpx.ASGITransport(app=create_app(services), client=("203.0.113.7", 5555))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://leadbot", headers={"Origin": SITE}
    ) as client:
        yield client


async def stored(services) -> int:
    async with services.uow() as uow:
        return (await uow.execute(select(func.count()).select_from(leads))).scalar_one()


async def test_a_person_posting_the_form_is_redirected_and_the_lead_arrives(site, services):
    response = await site.post("/api/v1/forms/heat-pump-request", data=GOOD)
    assert response.status_code == 303 and response.headers["location"] == f"{SITE}/thanks"
    assert await stored(services) == 1
    as_json = await site.post(
        "/api/v1/forms/heat-pump-request",
        data={**GOOD, "mail": "eva@example.com"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 201 and as_json.json()["id"].startswith("L")


async def test_bots_are_dropped_silently(site, services):
    trap = await site.post("/api/v1/forms/heat-pump-request", data={**GOOD, "leadbot_hp": "x"})
    hasty = await site.post(
        "/api/v1/forms/heat-pump-request", data={**GOOD, "leadbot_ts": str(time.time())}
    )
    assert trap.status_code == hasty.status_code == 303  # the same answer as a person gets
    assert await stored(services) == 0
    patient = await site.post(
        "/api/v1/forms/heat-pump-request", data={**GOOD, "leadbot_ts": str(time.time() - 30)}
    )
    assert patient.status_code == 303 and await stored(services) == 1


async def test_a_visitor_whose_clock_runs_fast_is_not_taken_for_a_bot(site, services):
    """The fill time is the browser's submit time minus its load time, one clock; a page that
    sends only its load time (an older snippet) is not timed when that is in our future."""
    fast = time.time() + 300  # the visitor's clock is five minutes ahead of ours
    old_snippet = {**GOOD, "leadbot_ts": str(fast - 120)}  # opened two minutes ago
    assert (await site.post("/api/v1/forms/heat-pump-request", data=old_snippet)).status_code == 303
    assert await stored(services) == 1
    new_snippet = {**GOOD, "mail": "eva@example.com", "leadbot_ts": str(fast - 120)}
    new_snippet["leadbot_sent"] = str(fast)
    assert (await site.post("/api/v1/forms/heat-pump-request", data=new_snippet)).status_code == 303
    assert await stored(services) == 2
    slow = time.time() - 86400  # a clock a day behind, and a form sent one second after loading
    hasty = {**GOOD, "mail": "bot@example.com", "leadbot_ts": str(slow - 1)}
    hasty["leadbot_sent"] = str(slow)
    trap = {**old_snippet, "mail": "trap@example.com", "leadbot_hp": "x"}
    for bot in (hasty, trap):
        assert (await site.post("/api/v1/forms/heat-pump-request", data=bot)).status_code == 303
    assert await stored(services) == 2


async def test_bad_input_is_explained_without_internals(site, services):
    html_page = await site.post("/api/v1/forms/heat-pump-request", data={**GOOD, "mail": "nope"})
    assert html_page.status_code == 422 and "contact.email" in html_page.text
    assert "Traceback" not in html_page.text and "<b>" not in html_page.text
    as_json = await site.post(
        "/api/v1/forms/heat-pump-request",
        data={**GOOD, "plz": "8x"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 422 and as_json.json()["errors"][0]["field"] == "postcode"
    assert await stored(services) == 0


async def test_unknown_forms_foreign_sites_and_floods(site):
    assert (await site.post("/api/v1/forms/nope", data=GOOD)).status_code == 404
    foreign = await site.post(
        "/api/v1/forms/heat-pump-request", data=GOOD, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    codes = [
        (
            await site.post(
                "/api/v1/forms/heat-pump-request", data={**GOOD, "mail": f"p{i}@example.com"}
            )
        ).status_code
        for i in range(6)
    ]
    assert codes[:4] == [303] * 4 and codes[-1] == 429  # five a minute per address


async def test_allowed_origins_match_as_browsers_send_them(services):
    """`https://www.example.com/` in leadbot.yaml is the Origin `https://www.example.com`."""
    doc = config([partner("acme")])
    doc["forms"] = [{**FORM, "allowed_origins": [SITE.upper().replace("HTTPS", "https") + "/"]}]
    await apply(services, doc)
    transport = httpx.ASGITransport(app=create_app(services), client=("203.0.113.8", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
        response = await client.post(
            "/api/v1/forms/heat-pump-request", data=GOOD, headers={"Origin": SITE}
        )
    assert response.status_code == 303 and await stored(services) == 1


async def test_a_form_cannot_pick_its_source_or_external_id_and_needs_its_origin(site, services):
    response = await site.post(
        "/api/v1/forms/heat-pump-request",
        data={**GOOD, "source": "crm", "external_id": "1001"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201
    async with services.uow() as uow:
        stored = await uow.leads.get_by_public_id(response.json()["id"])
    assert stored.source == "website" and stored.external_id.startswith("form:")  # not "1001"
    no_origin = await site.post(
        "/api/v1/forms/heat-pump-request", data=GOOD, headers={"Origin": ""}
    )
    assert no_origin.status_code == 403
    odd_time = await site.post(
        "/api/v1/forms/heat-pump-request", data={**GOOD, "leadbot_ts": "²", "mail": "t@example.com"}
    )
    assert odd_time.status_code == 303


async def test_a_visitor_cannot_rate_their_own_lead(site, services):
    """Unmapped, only what a person can say passes (contact, place, need, consent); the site's
    judgement of a lead (value, temperature, qualification, coordinates) only when the form's
    `fields` maps it. The rest is left out, not refused: a site may post inputs of its own."""
    rated = {
        "estimated_value": "1000000000000",
        "temperature": "hot",
        "qualification": "sql",
        "lat": "48.1",
        "lon": "11.5",
        "contact.phone": "+49 89 1234",
        "city": "München",
        "newsletter": "yes",
    }
    posted = await site.post(
        "/api/v1/forms/heat-pump-request",
        data={**GOOD, **rated},
        headers={"Accept": "application/json"},
    )
    assert posted.status_code == 201, posted.text
    quote = {"country": "DE", "postcode": "80331", "budget": "25000", "urgency": "hot"}
    mapped = await site.post(
        "/api/v1/forms/quote", data=quote, headers={"Accept": "application/json"}
    )
    assert mapped.status_code == 201, mapped.text
    async with services.uow() as uow:
        visitor = await uow.leads.get_by_public_id(posted.json()["id"])
        contact = await uow.leads.get_contact(visitor.id)
        site_rated = await uow.leads.get_by_public_id(mapped.json()["id"])
    assert visitor.estimated_value is visitor.temperature is visitor.qualification is None
    assert visitor.city == "München" and contact.phone == "+49 89 1234"
    assert visitor.lat != 48.1  # located from the postcode, if at all, not as posted
    assert (site_rated.estimated_value, site_rated.temperature) == (25000, "hot")


async def test_a_consent_checkbox_after_a_hidden_false_says_yes_or_no(site, services):
    """`<input type=hidden name=consent value=false>` then `<input type=checkbox name=consent
    value=true>`: ticked, both are posted and the box (the last) wins; unticked, the hidden
    "false" is all there is. Without the hidden input an unticked box posts nothing: unknown."""
    said = {}
    for mail, consent in (
        ("yes@example.com", ["false", "true"]),
        ("no@example.com", ["false"]),
        ("unsaid@example.com", []),
    ):
        posted = await site.post(
            "/api/v1/forms/heat-pump-request",
            data={**GOOD, "mail": mail, "consent": consent},
            headers={"Accept": "application/json"},
        )
        assert posted.status_code == 201, posted.text
        async with services.uow() as uow:
            lead = await uow.leads.get_by_public_id(posted.json()["id"])
            said[mail] = (await uow.leads.get_contact(lead.id)).consent
    assert said == {"yes@example.com": True, "no@example.com": False, "unsaid@example.com": None}


async def test_a_file_posted_in_a_form_is_not_taken_for_text(site, services):
    """A file input (mapped or not) is left out like any input that is not a lead field."""
    posted = await site.post(
        "/api/v1/forms/heat-pump-request",
        data={k: v for k, v in GOOD.items() if k != "wish"},
        files={"wish": ("plan.txt", b"a floor plan", "text/plain")},
        headers={"Accept": "application/json"},
    )
    assert posted.status_code == 201, posted.text
    async with services.uow() as uow:
        lead = await uow.leads.get_by_public_id(posted.json()["id"])
    assert lead.need is None  # was "UploadFile(filename='plan.txt', ...)"


async def test_the_same_submission_twice_is_one_lead(site, services):
    """A double click, or a reload that posts again: the same page's post twice is one lead
    (by what was posted and the page's load time); a new visit is a new lead."""
    visit = {**GOOD, "leadbot_ts": str(int(time.time()) - 60)}
    first = await site.post(
        "/api/v1/forms/heat-pump-request",
        data={**visit, "leadbot_sent": str(int(time.time()) - 5)},
        headers={"Accept": "application/json"},
    )
    again = await site.post(  # the submit time differs: still the same submission
        "/api/v1/forms/heat-pump-request",
        data={**visit, "leadbot_sent": str(int(time.time()) - 4)},
        headers={"Accept": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and await stored(services) == 1
    later = {**visit, "leadbot_ts": str(int(time.time()) - 30)}  # the page loaded again
    assert (await site.post("/api/v1/forms/heat-pump-request", data=later)).status_code == 303
    assert await stored(services) == 2
    untimed = {k: v for k, v in GOOD.items()}  # a form without leadbot_ts: once a day
    await site.post("/api/v1/forms/heat-pump-request", data=untimed)
    await site.post("/api/v1/forms/heat-pump-request", data=untimed)
    assert await stored(services) == 3
    async with services.uow() as uow:
        ids = list((await uow.execute(select(leads.c.external_id))).scalars())
    assert all(i.startswith("form:") and "max" not in i for i in ids)  # digests, not the data
