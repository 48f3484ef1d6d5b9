"""Public form endpoint: a plain HTML form on the manufacturer's site posts here directly.

No secret in the page. Defences: an allowed-origins list, a honeypot field (`leadbot_hp`,
hidden, must stay empty), a minimum fill time (`leadbot_ts`, the page's load time in Unix
seconds, and `leadbot_sent`, its submit time, both by the browser's clock and set by
JavaScript; forms without them are not timed), and a per-IP rate limit. A bot that trips
the honeypot or the timer gets the same answer as a person, and nothing is stored. Errors
never show internals. The same submission posted again (a double click, a reload that posts
again) is the same lead.
(No `from __future__ import annotations`: FastAPI resolves these annotations at runtime.)
"""

import html
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from bot.bootstrap import Services
from bot.domain.actors import Actor, Role, Source
from bot.handlers.form_post import (
    HONEYPOT,
    LOADED_AT,
    SENT_AT,
    form_document,
    submission_id,
    too_fast,
)
from bot.handlers.problems import INVALID, TOO_BIG, UNCONFIGURED, UNREADABLE, Problem
from bot.handlers.ratelimit import RateLimiter
from bot.intake_schema import LeadIn, field_errors
from bot.policy_file import Form

# the schema of what a form posts: any fields, as strings (the form's `fields` map them)
_FIELDS = {"type": "object", "additionalProperties": {"type": "string"}}
BODY = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {"schema": _FIELDS},
            "multipart/form-data": {"schema": _FIELDS},
        }
    }
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "stored (JSON when asked with Accept, or when there is no redirect)"},
    303: {"description": "stored, or dropped as spam: on to the form's redirect"},
    **UNREADABLE,
    403: {"model": Problem, "description": "this site may not post to this form"},
    404: {"model": Problem, "description": "no such form"},
    **TOO_BIG,
    422: {
        **INVALID[422],
        "content": {"text/html": {"schema": {"type": "string"}}},
        "description": "bad fields, each named (a page for people, JSON with Accept)",
    },
    429: {"model": Problem, "description": "five posts a minute per address; see Retry-After"},
    **UNCONFIGURED,
}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["forms"])
    per_ip = RateLimiter(rate=5 / 60, burst=5)  # five submissions a minute per address

    def done(request: Request, form: Form, lead_id: str | None) -> Response:
        if _wants_json(request) or not form.redirect:
            return JSONResponse({"ok": True, "id": lead_id}, status_code=201)
        return RedirectResponse(form.redirect, status_code=303)

    @api.post("/forms/{form_key}", response_model=None, responses=RESPONSES, openapi_extra=BODY)
    async def submit(form_key: str, request: Request) -> Response:
        """Receive a form post (`application/x-www-form-urlencoded` or multipart)."""
        async with services.uow() as uow:
            version, _policy = await services.ctx.policies.current(uow)
            config = await services.ctx.policies.config(uow, version)
        form = next((f for f in config.forms if f.key == form_key), None)
        if form is None:
            return JSONResponse({"detail": "no such form"}, status_code=404)
        origin = request.headers.get("origin")
        if form.allowed_origins and origin not in form.allowed_origins:
            return JSONResponse({"detail": "this site may not post to this form"}, status_code=403)
        client = request.client.host if request.client else "unknown"
        wait = per_ip.take(client)
        if wait:
            return JSONResponse(
                {"detail": "too many submissions; try again in a minute"},
                status_code=429,
                headers={"Retry-After": str(round(wait) + 1)},
            )
        posted = await request.form()
        # text only: a file is no lead field (its str() is a description of the upload)
        data = {k: [v for v in posted.getlist(k) if isinstance(v, str)] for k in posted}
        if any(v.strip() for v in data.pop(HONEYPOT, [])):
            return done(request, form, None)  # a bot: same answer, nothing stored
        loaded_at, sent_at = data.pop(LOADED_AT, [""])[0], data.pop(SENT_AT, [""])[-1]
        if too_fast(loaded_at, sent_at, now=time.time()):
            return done(request, form, None)  # filled faster than a person can
        headers = {"Access-Control-Allow-Origin": origin} if origin else {}
        document = form_document(form, data)
        document["external_id"] = submission_id(form, data, loaded_at)
        try:
            lead = LeadIn.model_validate(document)
        except ValidationError as exc:
            problems = field_errors(exc)
            if _wants_json(request):
                errors = [
                    {"field": p.split(":")[0], "message": p.split(": ", 1)[1]} for p in problems
                ]
                return JSONResponse(
                    {"detail": "; ".join(problems), "errors": errors},
                    status_code=422,
                    headers=headers,
                )
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
            return HTMLResponse(
                f"<!doctype html><title>Please check the form</title>"
                f"<h1>Please check the form</h1><ul>{items}</ul>"
                f"<p><a href='javascript:history.back()'>Back</a></p>",
                status_code=422,
                headers=headers,
            )
        stored, _created, _offers = await services.submit_lead(
            lead.to_new_lead(),
            actor=Actor(name=f"web form {form.key}", role=Role.SYSTEM),
            source=Source.API,
        )
        response = done(request, form, stored.public_id)
        response.headers.update(headers)
        return response

    return api
