"""Fuzzing the intake API: whatever arrives, never a 500 and never a half-stored lead."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.bootstrap import build
from bot.config import Settings
from bot.handlers.http import create_app
from bot.intake_schema import LeadIn
from bot.store.tables import lead_contacts, lead_events, leads
from tests.factories import apply, config, partner

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = list(LeadIn.model_fields)
bodies = st.one_of(
    st.fixed_dictionaries({}, optional={f: json_values for f in FIELDS}),
    st.fixed_dictionaries(
        {"country": st.sampled_from(["DE", "de", "XX", "GB"]), "postcode": st.text(max_size=12)},
        optional={
            "contact": st.fixed_dictionaries(
                {},
                optional={
                    "email": st.text(max_size=40),
                    "phone": st.text(max_size=20),
                    "name": st.text(max_size=300),
                },
            )
        },
    ),
    json_values,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_any_body_gets_a_clear_answer_and_no_half_stored_lead(database_url, body):
    asyncio.run(_post(database_url, body))


async def _post(url: str, body: object) -> None:
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with services.uow() as uow:
            configured = await uow.config.current_version()
            key = await uow.apikeys.create(f"fuzz-{uuid.uuid4().hex}", now=services.ctx.now())
            await uow.commit()
        if configured is None:
            await apply(services, config([partner("acme", territories=["DE:1", "GB:SW"])]))
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://leadbot") as client:
            response = await client.post(
                "/api/v1/leads", json=body, headers={"Authorization": f"Bearer {key}"}
            )
        assert response.status_code in (200, 201, 422), (response.status_code, response.text)
        if response.status_code == 422:
            assert response.json()["errors"], response.text
        async with services.uow() as uow:
            counts = [
                (await uow.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (leads, lead_contacts)
            ]
            received = (
                await uow.execute(
                    select(func.count())
                    .select_from(lead_events)
                    .where(lead_events.c.kind == "received")
                )
            ).scalar_one()
        assert counts[0] == counts[1] == received  # every stored lead is whole
    finally:
        await services.close()
