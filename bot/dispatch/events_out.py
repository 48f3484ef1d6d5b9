"""Queue webhook events for what just happened to a lead (in the same transaction)."""

from __future__ import annotations

import uuid
from typing import Any

from bot.dispatch.context import Context
from bot.domain.leads import Lead
from bot.store.outbox import OutboxKind
from bot.store.uow import UnitOfWork


async def emit(
    uow: UnitOfWork,
    ctx: Context,
    event: str,
    *,
    lead: Lead | None = None,
    lead_id: int | None = None,
    **data: Any,
) -> None:
    """One outbox row per webhook subscribed to `event`; no personal data in the body. A
    `partner_id` is sent as the partner's slug (`partner`), the name a CRM knows it by."""
    # the directory's version is checked at most once a second: no query per event; but a
    # lead stored on a newer configuration than the cached one brings it up to date, so a new
    # lead's events all go to the webhooks of the configuration it was stored on
    directory = await ctx.policies.directory(uow, at_least=lead.policy_version if lead else 0)
    config = await ctx.policies.config(uow, directory.version)
    hooks = [w for w in config.webhooks if event in w.events]
    if not hooks:
        return
    if "partner_id" in data:
        pid = data.pop("partner_id")
        known = directory.partners.get(pid)
        data["partner"] = known.slug if known else (await uow.partners.list_names())[pid][0]
    if lead is None:
        assert lead_id is not None
        lead = await uow.leads.get(lead_id)
        assert lead is not None
    now = ctx.now()
    body = {
        "id": uuid.uuid4().hex,  # the same on every retry: receivers can drop repeats
        "event": event,
        "at": now.isoformat(),
        "lead": {
            "id": lead.public_id,
            "source": lead.source,
            "external_id": lead.external_id,
            "country": lead.country,
            "postcode": lead.postcode,
        },
        "data": data,
    }
    for hook in hooks:
        await uow.outbox.enqueue(
            OutboxKind.WEBHOOK,
            now=now,
            lead_id=lead.id,
            payload={"url": hook.url, "secret_env": hook.secret_env, "event": event, "body": body},
        )
    uow.after_commit(ctx.hooks.poke)
