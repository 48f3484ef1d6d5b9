"""The intake API over HTTP (httpx against the ASGI app, real store)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.handlers.http import create_app
from tests.conftest import deliver_all, upgrade_from
from tests.factories import SRC, apply, config, partner

LEAD = {
    "source": "website",
    "external_id": "form-1",
    "country": "DE",
    "postcode": "80331",
    "city": "München",
    "specialties": ["heat-pump"],
    "need": "Replace an oil boiler",
    "contact": {"name": "Max Kunde", "email": "max@example.com", "phone": "+49 89 1234"},
}


@pytest.fixture
async def api(services):
    await apply(services, config([partner("acme"), partner("beta")]))
    async with services.uow() as uow:
        key = await uow.apikeys.create("website", now=services.ctx.now())
        await uow.commit()
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


async def test_create_then_repeat_gives_the_same_lead(api, services, slack):
    first = await api.post("/api/v1/leads", json=LEAD)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "offered" and body["partner"] is None
    (offer,) = body["offers"]
    assert offer["partner"] in ("acme", "beta") and offer["status"] == "pending"
    assert offer["round"] == 1 and offer["mode"] == "exclusive"
    assert "contact" not in body and "events" not in body
    again = await api.post("/api/v1/leads", json=LEAD)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    await deliver_all(services)
    assert len(slack.sent) == 1  # one lead, one card


async def test_a_repeat_of_a_lead_assigned_by_hand_names_its_partner(api, services):
    from bot.dispatch.assignment import assign_lead
    from tests.factories import MANAGER

    body = (await api.post("/api/v1/leads", json=LEAD)).json()
    other = "beta" if body["offers"][0]["partner"] == "acme" else "acme"
    async with services.uow() as uow:
        stored = await uow.leads.get_by_public_id(body["id"])
    outcome = await services.run(
        assign_lead, lead_id=stored.id, partner_slug=other, actor=MANAGER, source=SRC
    )
    assert outcome.ok, outcome.message
    again = (await api.post("/api/v1/leads", json=LEAD)).json()
    assert again["status"] == "accepted" and again["partner"] == other
    offers = [(o["partner"], o["status"]) for o in again["offers"]]
    assert offers == [(body["offers"][0]["partner"], "withdrawn"), (other, "accepted")]


async def test_the_summary_names_a_partner_the_lead_has_no_offer_from(api, services):
    """Every way to give a lead to a partner makes an offer today; the answer does not rely
    on it."""
    from bot.reports.history import get_lead_summary

    body = (await api.post("/api/v1/leads", json=LEAD)).json()
    other = "beta" if body["offers"][0]["partner"] == "acme" else "acme"
    async with services.uow() as uow:
        stored = await uow.leads.get_by_public_id(body["id"])
        (pid, _, _) = await uow.partners.get_by_slug(other)
        await uow.leads.cas(stored.id, expect={}, now=services.ctx.now(), partner_id=pid)
        await uow.commit()
    async with services.uow(read_only=True) as uow:
        summary = await get_lead_summary(uow, stored.id)
    assert summary is not None and summary.partner_slugs[pid] == other


async def test_idempotency_key_header(api):
    lead = {k: v for k, v in LEAD.items() if k != "external_id"}
    headers = {"Idempotency-Key": "abc-123"}
    first = await api.post("/api/v1/leads", json=lead, headers=headers)
    second = await api.post("/api/v1/leads", json=lead, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    other = await api.post("/api/v1/leads", json=lead, headers={"Idempotency-Key": "xyz"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_an_idempotency_key_reused_for_a_different_lead_is_refused(api, services):
    lead = {k: v for k, v in LEAD.items() if k != "external_id"}
    headers = {"Idempotency-Key": "form-42"}
    first = await api.post("/api/v1/leads", json=lead, headers=headers)
    # the same lead again, its fields in another order: a retry, answered with the first
    shuffled = dict(reversed(list(lead.items())))
    again = await api.post("/api/v1/leads", json=shuffled, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    # another lead under the same key would be lost behind the first: refused, nothing stored
    other = {**lead, "postcode": "80469", "contact": {**lead["contact"], "name": "Other"}}
    refused = await api.post("/api/v1/leads", json=other, headers=headers)
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "idempotency-key"
    assert first.json()["id"] in error["message"] and "new key" in error["message"]
    async with services.uow(read_only=True) as uow:
        assert len(await uow.leads.list_since(datetime(2000, 1, 1, tzinfo=UTC))) == 1
    # under a key of its own it is a new lead
    fresh = await api.post("/api/v1/leads", json=other, headers={"Idempotency-Key": "form-43"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]


async def test_idempotency_keys_never_share_a_lead_with_another_key_or_a_clients_id(api, services):
    """The stored id is a digest of (API key name, header): not a client's external id, not
    another key whose name holds a ':', not another long header with the same beginning."""
    lead = {k: v for k, v in LEAD.items() if k != "external_id"}
    mine = await api.post("/api/v1/leads", json=lead, headers={"Idempotency-Key": "eu:1"})
    assert mine.status_code == 201
    async with services.uow() as uow:
        colon = await uow.apikeys.create("website:eu", now=services.ctx.now())
        await uow.commit()
    theirs = await api.post(
        "/api/v1/leads",
        json=lead,
        headers={"Idempotency-Key": "1", "Authorization": f"Bearer {colon}"},
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != mine.json()["id"]
    long = "k" * 120
    one = await api.post("/api/v1/leads", json=lead, headers={"Idempotency-Key": long + "-1"})
    two = await api.post(
        "/api/v1/leads",
        json={**lead, "postcode": "80469"},
        headers={"Idempotency-Key": long + "-2"},
    )
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["id"] != two.json()["id"]
    # a client may not write into that space: its lead would be lost behind another's
    for reserved in ("idem:website:eu:1", mine.json()["external_id"]):
        refused = await api.post("/api/v1/leads", json={**lead, "external_id": reserved})
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["external_id"]
    async with services.uow(read_only=True) as uow:
        assert len(await uow.leads.list_since(datetime(2000, 1, 1, tzinfo=UTC))) == 4


async def test_missing_or_wrong_key_is_401(api):
    no_key = await api.post("/api/v1/leads", json=LEAD, headers={"Authorization": ""})
    assert no_key.status_code == 401 and "Bearer" in no_key.json()["detail"]
    wrong = await api.post("/api/v1/leads", json=LEAD, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"contact": {"email": "not-an-email"}}, "contact.email"),
        ({"country": "Germany"}, "country"),
        ({"postcode": "SW1A"}, "postcode"),
        ({"need": "x" * 2001}, "need"),
        ({"estimated_value": -3}, "estimated_value"),
        ({"temperature": "boiling"}, "temperature"),
        ({"colour": "red"}, "colour"),
        ({"lat": 95, "lon": 11.5}, "lat"),
        ({"lat": 48.1}, "lon"),  # lat without lon
        ({"lon": 11.5}, "lon"),
        ({"country": "XX"}, "country"),  # two letters, but no country
        ({"country": "UK"}, "country"),
        ({"postcode": "8033"}, "postcode"),  # four digits: not a German postcode
        ({"country": "NL", "postcode": "12345"}, "postcode"),
        ({"country": "PL", "postcode": "00950"}, "postcode"),
        ({"contact": {"phone": "call me maybe"}}, "contact.phone"),
        ({"contact": {"name": "x" * 201}}, "contact.name"),
        ({"language": "German"}, "language"),
        ({"qualification": "hot"}, "qualification"),
        ({"source": "web site!"}, "source"),
        ({"specialties": [f"s{i}" for i in range(21)]}, "specialties"),
        ({"specialties": [""]}, "specialties.0"),
        ({"city": "Mün\x00chen"}, "city"),
        ({"city": "Mün\x7fchen"}, "city"),  # DEL, and C1 below, are control characters too
        ({"contact": {"name": "Max\x85Kunde"}}, "contact.name"),
        ({"specialties": ["heat\x00pump"]}, "specialties.0"),  # in a list's items as well
        ({"specialties": ["heat-pump", "solar\x9b"]}, "specialties.1"),
        ({"consent": "perhaps"}, "consent"),
        ({"external_id": ""}, "external_id"),
        ({"estimated_value": 1e13}, "estimated_value"),
        # checked as stored: upper-cased, 'ﬃ' is 'FFI', 48 characters for a VARCHAR(16)
        ({"country": "AE", "postcode": "\ufb03" * 16}, "postcode"),
        ({"specialties": ["\u0130" * 40]}, "specialties.0"),  # 'İ' is two in lower case
    ],
)
async def test_bad_fields_are_named_in_a_422(api, change, field):
    response = await api.post("/api/v1/leads", json={**LEAD, **change})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_a_bad_country_or_postcode_says_what_would_fit(api):
    uk = (await api.post("/api/v1/leads", json={**LEAD, "country": "UK"})).json()["errors"]
    assert uk == [
        {
            "field": "country",
            "message": "'UK' is not a country code (ISO 3166-1 alpha-2, like DE) "
            "(did you mean GB?)",
        }
    ]
    pl = await api.post("/api/v1/leads", json={**LEAD, "country": "PL", "postcode": "00950"})
    assert pl.json()["errors"] == [
        {"field": "postcode", "message": "'00950' is not a postcode of PL (like 00-950)"}
    ]


@pytest.mark.parametrize(
    "country,postcode",
    [("DE", "80331"), ("NL", "1234 AB"), ("NL", "1234AB"), ("GB", "SW1A 1AA"), ("GB", "sw1a1aa"),
     ("PL", "00-950"), ("US", "10001-1234"), ("IE", "A65 F4E2"), ("HK", "999077")],
)  # fmt: skip
async def test_postcodes_in_their_countries_own_formats_are_taken(api, country, postcode):
    lead = {**LEAD, "external_id": f"{country}-{postcode}", "country": country}
    response = await api.post("/api/v1/leads", json={**lead, "postcode": postcode})
    assert response.status_code == 201, response.json()


async def test_consent_is_kept_with_the_contact(api, services):
    given = (await api.post("/api/v1/leads", json={**LEAD, "consent": True})).json()["id"]
    refused = {**LEAD, "external_id": "form-2", "consent": False}
    withheld = (await api.post("/api/v1/leads", json=refused)).json()["id"]
    unsaid = {k: v for k, v in LEAD.items() if k != "external_id"} | {"external_id": "form-3"}
    unknown = (await api.post("/api/v1/leads", json=unsaid)).json()["id"]
    for ref, consent in ((given, True), (withheld, False), (unknown, None)):
        view = (await api.get(f"/api/v1/leads/{ref}")).json()
        assert view["contact"]["consent"] is consent
        assert view["contact"]["email"] == "max@example.com"  # the managers' API sees it all


async def test_missing_required_fields_and_oversize_bodies(api):
    response = await api.post("/api/v1/leads", json={"postcode": "80331"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "country", "message": "Field required"}]
    huge = await api.post(
        "/api/v1/leads",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413


async def test_get_list_and_stage(api, services):
    created = (await api.post("/api/v1/leads", json=LEAD)).json()
    ref = created["id"]
    public = await api.get(f"/api/v1/leads/{ref}", headers={"Authorization": ""})
    assert public.status_code == 200 and "contact" not in public.json()
    assert [e["kind"] for e in public.json()["events"]] == ["received", "offered"]
    private = await api.get(f"/api/v1/leads/{ref}")
    assert private.json()["contact"]["email"] == "max@example.com"
    assert (await api.get("/api/v1/leads/1")).status_code == 404  # row ids are not public
    for i in range(3):
        await api.post("/api/v1/leads", json={**LEAD, "external_id": f"more-{i}"})
    page = (await api.get("/api/v1/leads", params={"limit": 2})).json()
    assert len(page["leads"]) == 2 and page["next"] is not None
    rest = (await api.get("/api/v1/leads", params={"limit": 2, "after": page["next"]})).json()
    assert len(rest["leads"]) == 2 and rest["next"] is None
    offered = (await api.get("/api/v1/leads", params={"status": "offered"})).json()
    assert len(offered["leads"]) == 4
    refused = await api.post(f"/api/v1/leads/{ref}/stage", json={"stage": "contacted"})
    assert refused.status_code == 409 and "not been accepted" in refused.json()["detail"]
    from bot.dispatch import accept_offer
    from tests.factories import SRC, actor_for

    holder = created["offers"][0]["partner"]
    rep = await actor_for(services, f"U{holder.upper()}")
    assert (
        await services.run(accept_offer, offer_id=created["offers"][0]["id"], actor=rep, source=SRC)
    ).ok
    moved = await api.post(f"/api/v1/leads/{ref}/stage", json={"stage": "qualified"})
    assert moved.status_code == 200 and moved.json()["stage"] == "qualified"
    back = await api.post(f"/api/v1/leads/{ref}/stage", json={"stage": "contacted"})
    assert back.status_code == 409 and "cannot go back" in back.json()["detail"]
    no_value = await api.post(f"/api/v1/leads/{ref}/stage", json={"stage": "won"})
    assert no_value.status_code == 409 and "needs a value" in no_value.json()["detail"]
    # a value only with opportunity or won, a reason only with lost: as the chat asks
    for body, field in (
        ({"stage": "won", "value": 5, "reason": "price"}, "reason"),
        ({"stage": "lost", "value": 5, "reason": "price"}, "value"),
    ):
        refused = await api.post(f"/api/v1/leads/{ref}/stage", json=body)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    events = (await api.get(f"/api/v1/leads/{ref}")).json()["events"]
    assert [e["data"].get("to") for e in events if e["kind"] == "stage_changed"] == ["qualified"]


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1999-12-31T23:59:59Z"]
)
async def test_a_since_out_of_range_is_named_in_a_422(api, since):
    response = await api.get("/api/v1/leads", params={"since": since})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["since"]


async def test_numbers_past_the_id_column_are_no_lead_and_a_bad_cursor(api):
    """Row ids are 32-bit on PostgreSQL: a larger number is no lead (404), not a 500."""
    for ref in ("99999999999999999999", "9223372036854775808", str(2**31)):
        assert (await api.get(f"/api/v1/leads/{ref}")).status_code == 404
        anonymous = await api.get(f"/api/v1/leads/{ref}", headers={"Authorization": ""})
        assert anonymous.status_code == 404
        stage = await api.post(f"/api/v1/leads/{ref}/stage", json={"stage": "contacted"})
        assert stage.status_code == 404
    beyond = await api.get("/api/v1/leads", params={"after": 2**31})
    assert beyond.status_code == 422
    assert [e["field"] for e in beyond.json()["errors"]] == ["after"]


async def test_before_any_configuration_posts_get_503_and_nothing_is_stored(services):
    """No leadbot.yaml applied yet: nothing to route by. Said plainly, not a 500."""
    async with services.uow() as uow:
        key = await uow.apikeys.create("website", now=services.ctx.now())
        await uow.commit()
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
        api = await client.post(
            "/api/v1/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"}
        )
        form = await client.post("/api/v1/forms/contact", data={"postcode": "80331"})
    for response in (api, form):
        assert response.status_code == 503, response.text
        assert "run `leadbot config apply`" in response.json()["detail"]
    async with services.uow(read_only=True) as uow:
        assert await uow.leads.list_since(datetime(2000, 1, 1, tzinfo=UTC)) == []


async def test_bad_json_is_a_422_on_the_body(api):
    response = await api.post(
        "/api/v1/leads", content=b'{"country": "DE",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body" and error["message"].startswith("is not JSON")
    not_text = await api.post(
        "/api/v1/leads",
        content='{"country": "DE", "postcode": "80331", "city": "München"}'.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )
    assert not_text.status_code == 400  # not UTF-8: unreadable, as docs/bad-input.md says


async def test_a_key_over_its_rate_gets_429_with_retry_after(services):
    from bot.config import Settings

    services.settings = Settings(
        database_url=services.settings.database_url,
        leadbot_api_rate=0.5,
        leadbot_api_burst=2,
        _env_file=None,
    )  # type: ignore[call-arg]
    await apply(services, config([partner("acme")]))
    async with services.uow() as uow:
        key = await uow.apikeys.create("busy", now=services.ctx.now())
        await uow.commit()
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
        client.headers["Authorization"] = f"Bearer {key}"
        codes = [(await client.get("/api/v1/leads")).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = await client.get("/api/v1/leads")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


async def test_metrics_count_what_happened(api, services, slack):
    from bot.dispatch import accept_offer
    from tests.factories import SRC, actor_for

    created = (await api.post("/api/v1/leads", json=LEAD)).json()
    await deliver_all(services)
    holder = created["offers"][0]["partner"]
    rep = await actor_for(services, f"U{holder.upper()}")
    await services.run(accept_offer, offer_id=created["offers"][0]["id"], actor=rep, source=SRC)
    text = (await api.get("/metrics")).text
    assert 'leadbot_leads_received_total{source="website"} 1.0' in text
    assert 'leadbot_offers_total{outcome="accepted"} 1.0' in text
    assert "leadbot_time_to_accept_seconds_count 1.0" in text
    assert "leadbot_intake_to_delivery_seconds_count 1.0" in text
    assert "leadbot_outbox_depth 1.0" in text  # the card edit after Accept is still queued


async def test_streamed_bodies_are_capped_too(api):
    async def chunks():
        for _ in range(40):
            yield b" " * 4096  # 160 KB with no Content-Length

    response = await api.post(
        "/api/v1/leads", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_keyless_look_ups_show_no_names_and_idempotency_is_per_key(api, services):
    created = (await api.post("/api/v1/leads", json=LEAD)).json()
    public = (await api.get(f"/api/v1/leads/{created['id']}", headers={"Authorization": ""})).json()
    assert "external_id" not in public
    assert all(set(e) == {"at", "kind"} for e in public["events"])
    async with services.uow() as uow:
        other = await uow.apikeys.create("crm", now=services.ctx.now())
        await uow.commit()
    lead = {k: v for k, v in LEAD.items() if k != "external_id"}
    mine = await api.post("/api/v1/leads", json=lead, headers={"Idempotency-Key": "1"})
    theirs = await api.post(
        "/api/v1/leads",
        json=lead,
        headers={"Idempotency-Key": "1", "Authorization": f"Bearer {other}"},
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    blank = await api.post("/api/v1/leads", json=lead, headers={"Idempotency-Key": "  "})
    assert blank.status_code == 422


async def test_a_retry_after_the_upgrade_finds_the_lead_its_idempotency_key_made_before(
    api, services, database_url
):
    """Before revision 0016 a lead named only by an Idempotency-Key was stored under
    'idem:<key name>:<header>'; the migration moves it to today's id, so a client's retry of
    a request sent before the upgrade gets that lead back, not a second one."""
    from bot.domain.actors import Actor, Role, Source
    from tests.factories import lead

    by_key = Actor(name="api key website", role=Role.SYSTEM)
    before, _, _ = await services.submit_lead(
        lead("idem:website:abc-123", source="website"), actor=by_key, source=Source.API
    )
    cut = "idem:website:" + "x" * 115  # 128 characters: maybe cut, so left alone
    await services.submit_lead(lead(cut, source="website"), actor=by_key, source=Source.API)
    await upgrade_from(database_url, "0015")
    body = {k: v for k, v in LEAD.items() if k != "external_id"}
    retry = await api.post("/api/v1/leads", json=body, headers={"Idempotency-Key": "abc-123"})
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == before.public_id
    async with services.uow() as uow:
        assert await uow.leads.get_by_external_id(source="website", external_id=cut) is not None
