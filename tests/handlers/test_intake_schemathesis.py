"""Schemathesis on Leadbot's own OpenAPI schema, over real HTTP on loopback: the intake API
and the public form, with data that fits the schema and data that does not. Never a 5xx; every
answer is declared in the schema (status, content type, body); and afterwards no lead is half
stored. LEADBOT_FUZZ_SCALE multiplies the examples per operation and mode (tests/fuzzing.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode

from bot.dispatch import accept_offer
from tests.factories import MANAGER, SRC, SYSTEM, config, lead, partner
from tests.fuzzing import DERANDOMIZE, examples
from tests.handlers.dbstate import broken_leads
from tests.handlers.live import LiveLeadbot

OPERATIONS = [
    ("POST", "/api/v1/leads"),
    ("GET", "/api/v1/leads"),
    ("GET", "/api/v1/leads/{public_id}"),
    ("POST", "/api/v1/leads/{public_id}/stage"),
    ("POST", "/api/v1/forms/{form_key}"),
]
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
addresses = (f"198.51.{n // 250}.{n % 250 + 1}" for n in itertools.count())  # documentation IPs


def document() -> dict[str, Any]:
    doc = config([partner("acme", territories=["DE:8", "DE:1", "GB:SW"]), partner("beta")])
    doc["forms"] = [
        {
            "key": "fuzz",
            "source": "website",
            "fields": {"plz": "postcode", "mail": "contact.email"},
        },
        {
            "key": "site",
            "source": "website",
            "allowed_origins": ["https://www.example.com"],
            "redirect": "https://www.example.com/thanks",
        },
    ]
    return doc


async def seed(live: LiveLeadbot) -> list[str]:
    """Three leads to aim at: one offered, one accepted (stages can move), one unknown id."""
    assert live.services is not None
    ids = []
    for n in range(2):
        stored, _, offers = await live.services.submit_lead(
            lead(f"seed-{n}"), actor=SYSTEM, source=SRC
        )
        ids.append(stored.public_id)
    outcome = await live.services.run(accept_offer, offer_id=offers[0], actor=MANAGER, source=SRC)
    assert outcome.ok, outcome.message
    return [*ids, "L-NOPE"]


def name_of(case: schemathesis.Case) -> str | None:
    return next(iter(case.path_parameters or {}), None)


@pytest.fixture
def live(database_url):
    with LiveLeadbot(
        database_url, document(), leadbot_api_rate=1e6, leadbot_api_burst=1_000_000
    ) as server:
        yield server


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_answers_every_request_as_its_schema_says(live, method, path, mode):
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operation = schema[path][method]
    known = live.run(seed(live))
    session = requests.Session()
    seen: dict[int, int] = {}

    @settings(
        max_examples=examples(30),
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        aim=st.integers(0, 9),
        ours=st.booleans(),
        page=st.booleans(),
        filled=st.booleans(),
    )
    def call(case: schemathesis.Case, aim: int, ours: bool, page: bool, filled: bool) -> None:
        headers = {"X-Forwarded-For": next(addresses)}
        if aim < 8:  # mostly with a valid key, sometimes with what was generated, or none
            headers["Authorization"] = f"Bearer {live.key}"
        if case.path_parameters and aim < 6:  # mostly at things that exist
            name = next(iter(case.path_parameters))
            pick = ["fuzz", "site", "nope"] if name == "form_key" else known
            case.path_parameters[name] = pick[aim % len(pick)]
        if name_of(case) == "form_key" and isinstance(case.body, dict):
            headers["Origin"] = "https://www.example.com" if ours else "https://evil.example"
            headers["Accept"] = "text/html" if page else "application/json"
            if filled:  # a form a person filled in, plus whatever else was generated
                case.body = {**case.body, "country": "DE", "plz": "80331", "postcode": "80331"}
        elif path == "/api/v1/leads" and isinstance(case.body, dict) and filled:
            # a real country and one of its postcodes (the schema's two letters and 2-16
            # characters rarely make one), the rest as generated
            case.body = {**case.body, "country": "DE", "postcode": "80331"}
        response = case.call(
            base_url=live.url, session=session, headers=headers, allow_redirects=False
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    call()
    assert live.run(broken_leads(live.services)) == []
    assert not any(code >= 500 for code in seen), seen
    if mode is GenerationMode.POSITIVE:  # it reached past the checks: something was taken
        assert any(code < 400 for code in seen), seen
