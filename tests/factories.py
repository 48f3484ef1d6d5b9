"""Builders for configs, leads and actors used across tests."""

from __future__ import annotations

from typing import Any

from bot.bootstrap import Services
from bot.domain.actors import Actor, Role, Source
from bot.domain.leads import Contact, NewLead
from bot.policy_file import validate_document

MANAGERS = {
    "slack_channel": "C0MANAGERS",
    "members": [{"name": "Ada Admin", "slack": "U0ADA", "telegram": 1001}],
}


def partner(slug: str, **overrides: Any) -> dict[str, Any]:
    """A partner covering DE:80 (heat-pump, solar) with a Slack channel named after it."""
    doc: dict[str, Any] = {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "territories": ["DE:80"],
        "specialties": ["heat-pump", "solar"],
        "capacity": 10,
        "weight": 1,
        "slack_channel": f"C-{slug}",
        "members": [
            {
                "name": f"Rep {slug}",
                "slack": f"U{slug.upper().replace('-', '')}",
                "role": "partner_admin",
            }
        ],
    }
    doc.update(overrides)
    return doc


def config(partners: list[dict[str, Any]], **policy: Any) -> dict[str, Any]:
    return {
        "policy": {"offer_timeout": "30m", "max_rounds": 3, **policy},
        "managers": MANAGERS,
        "partners": partners,
    }


async def apply(services: Services, document: dict[str, Any]) -> int:
    cfg = validate_document(document)
    async with services.uow() as uow:
        version = await uow.config.apply(cfg, document, source_file="test", now=services.ctx.now())
        await uow.commit()
    return version


def lead(external_id: str | None = None, **overrides: Any) -> NewLead:
    values: dict[str, Any] = dict(
        source="test",
        external_id=external_id,
        country="DE",
        postcode="80331",
        city="München",
        specialties=("heat-pump",),
        need="New heat pump",
        estimated_value=12000.0,
        contact=Contact(name="Max Kunde", email="max@example.com", phone="+49 89 123456"),
    )
    values.update(overrides)
    return NewLead(**values)


async def actor_for(services: Services, slack_user: str) -> Actor:
    async with services.uow() as uow:
        found = await uow.members.find_actor(platform="slack", external_id=slack_user)
    assert found is not None, f"{slack_user} is not linked"
    return found


MANAGER = Actor(name="Ada Admin", role=Role.MANAGER, member_id=None)
SYSTEM = Actor.system("test")
SRC = Source.SLACK
