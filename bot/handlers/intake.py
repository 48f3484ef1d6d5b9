"""The intake API: leads in over HTTP (`POST /api/v1/leads`), and what happened to them.

Thin: authenticate, validate (pydantic), call the use cases, shape the answer.
(No `from __future__ import annotations` here: FastAPI must resolve the routes' annotations,
which name dependencies defined inside `router`.)
"""

import hashlib
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from bot.bootstrap import Services
from bot.dispatch import set_stage
from bot.domain.actors import Actor, Role, Source
from bot.domain.errors import KeyReused
from bot.domain.leads import VALUED_STAGES, DispatchStatus, Stage, idempotency_id
from bot.handlers.problems import (
    INVALID,
    KEYED,
    NOT_FOUND,
    TOO_BIG,
    UNCONFIGURED,
    UNREADABLE,
    Problem,
    bad_field,
)
from bot.handlers.ratelimit import KeyCache, RateLimiter
from bot.intake_schema import LeadIn
from bot.reports.history import get_lead_history, get_lead_summary, lead_view, list_leads
from bot.store.apikeys import hash_key
from bot.store.tables import MAX_ROW_ID

MIN_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
MAX_SINCE = datetime(2100, 1, 1, tzinfo=UTC)
PublicId = Annotated[str, Path(max_length=32, description="the lead's public id")]


class StageIn(BaseModel):
    """Progress reported back by a CRM, with the same rules as the chat buttons."""

    stage: Stage
    value: Annotated[float, Field(ge=0, le=1e12)] | None = None
    reason: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("value")
    @classmethod
    def _valued_stage(cls, v: float | None, info: ValidationInfo) -> float | None:
        stage = info.data.get("stage")  # as the chat, which asks for a value only there
        if v is not None and stage is not None and stage not in VALUED_STAGES:
            raise ValueError(f"only opportunity and won take a value, not {stage}")
        return v

    @field_validator("reason")
    @classmethod
    def _lost_stage(cls, v: str | None, info: ValidationInfo) -> str | None:
        stage = info.data.get("stage")
        if v is not None and stage is not None and stage is not Stage.LOST:
            raise ValueError(f"only lost takes a reason, not {stage}")
        return v


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["leads"])
    settings = services.settings
    limiter = RateLimiter(settings.leadbot_api_rate, settings.leadbot_api_burst)
    anonymous = RateLimiter(rate=1, burst=30)  # keyless status look-ups, per address
    known_keys = KeyCache()

    async def api_key(authorization: Annotated[str | None, Header()] = None) -> str:
        """The name of the API key in `Authorization: Bearer <key>`; 401 otherwise."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise HTTPException(
                401,
                "send an API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        hashed = hash_key(key.strip())
        name = known_keys.get(hashed)
        if name is None:
            async with services.uow() as uow:
                name = await uow.apikeys.verify(key.strip())
            if name is not None:
                known_keys.put(hashed, name)
        if name is None:
            raise HTTPException(
                401, "this API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
            )
        wait = limiter.take(name)
        if wait:
            raise HTTPException(
                429,
                f"too many requests for API key '{name}'; slow down",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        return name

    async def optional_key(
        authorization: Annotated[str | None, Header()] = None,
    ) -> str | None:
        return await api_key(authorization) if authorization else None

    @api.post(
        "/leads",
        status_code=201,
        responses={
            200: {"description": "a repeat"},
            **UNREADABLE,
            **KEYED,
            **TOO_BIG,
            **INVALID,
            **UNCONFIGURED,
        },
    )
    async def create_lead(
        lead: LeadIn,
        key: Annotated[str, Depends(api_key)],
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> JSONResponse:
        """Store a lead (committed before the answer) and route it at once. A repeat of
        `(source, external_id)` or of the `Idempotency-Key` header returns the first lead, 200;
        an `Idempotency-Key` used before with a different lead is refused, 422."""
        if idempotency_key is not None and not idempotency_key.strip():
            raise bad_field("idempotency-key", "must not be blank")
        new = lead.to_new_lead()
        if lead.external_id is None and idempotency_key:
            # scoped to the key, so two clients (or an external id "1") never collide; the
            # digest is of the lead as validated, so the order of its fields does not matter
            scoped = idempotency_id(key, idempotency_key.strip())
            digest = hashlib.sha256(lead.model_dump_json().encode()).hexdigest()
            new = replace(new, external_id=scoped, request_digest=digest)
        try:
            stored, created, _offers = await services.submit_lead(
                new, actor=Actor(name=f"api key {key}", role=Role.SYSTEM), source=Source.API
            )
        except KeyReused as exc:
            raise bad_field("idempotency-key", str(exc)) from None
        async with services.uow(read_only=True) as uow:
            history = await get_lead_summary(uow, stored.id)
        assert history is not None
        return JSONResponse(
            lead_view(history, with_events=False),
            status_code=201 if created else 200,
        )

    @api.get("/leads/{public_id}", responses={**KEYED, **NOT_FOUND, **INVALID})
    async def get_lead(
        public_id: PublicId, request: Request, key: Annotated[str | None, Depends(optional_key)]
    ) -> dict[str, Any]:
        """Status, stage, partner and event history; the contact only with an API key."""
        if key is None:
            wait = anonymous.take(request.client.host if request.client else "unknown")
            if wait:
                raise HTTPException(
                    429,
                    "too many requests; slow down",
                    headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                )
        async with services.uow() as uow:
            history = await get_lead_history(uow, public_id)
            # public ids only: numeric row ids are guessable
            if history is None or history.lead.public_id != public_id.upper():
                raise HTTPException(404, f"no lead '{public_id}'")
            view = lead_view(history, with_events=True, private=key is not None)
            if key is not None:
                view["contact"] = asdict(await uow.leads.get_contact(history.lead.id))
        return view

    @api.get("/leads", responses={**KEYED, **INVALID})
    async def find_leads(
        key: Annotated[str, Depends(api_key)],
        status: DispatchStatus | None = None,
        partner: Annotated[str | None, Query(max_length=63)] = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="cursor from `next`")] = 0,
    ) -> dict[str, Any]:
        """Leads, newest last, `limit` at a time; pass `next` back as `after` for more."""
        if since is not None and since.tzinfo is None:
            raise bad_field("since", "give a time zone, like 2026-03-01T00:00:00Z")
        # compared as they are: converting year 1 or 9999 to UTC would overflow
        if since is not None and not MIN_SINCE <= since <= MAX_SINCE:
            raise bad_field("since", "give a date between the years 2000 and 2100")
        async with services.uow() as uow:
            rows, cursor = await list_leads(
                uow, status=status, partner=partner, since=since, limit=limit, after=after
            )
        return {"leads": rows, "next": cursor}

    @api.post(
        "/leads/{public_id}/stage",
        responses={
            **UNREADABLE,
            **KEYED,
            **NOT_FOUND,
            409: {"model": Problem, "description": "refused by the funnel rules"},
            **TOO_BIG,
            **INVALID,
            **UNCONFIGURED,
        },
    )
    async def report_stage(
        public_id: PublicId, body: StageIn, key: Annotated[str, Depends(api_key)]
    ) -> dict[str, Any]:
        """A CRM reports progress: forward only, value for opportunity/won, reason for lost."""
        async with services.uow() as uow:
            lead = await uow.leads.get_by_public_id(public_id)
        if lead is None:
            raise HTTPException(404, f"no lead '{public_id}'")
        crm = Actor(name=f"CRM ({key})", role=Role.PARTNER_REP, partner_id=lead.partner_id)
        outcome = await services.run(
            set_stage,
            lead_id=lead.id,
            stage=body.stage,
            actor=crm,
            source=Source.API,
            value=body.value,
            reason=body.reason,
        )
        if not outcome.ok:
            raise HTTPException(409, outcome.message)
        return {"id": lead.public_id, "stage": body.stage, "message": outcome.message}

    return api
