"""The error answers of the HTTP API, declared in the OpenAPI schema as they are sent.

Every 4xx body has a `detail` sentence; a 422 also lists `errors: [{field, message}]`, one per
bad field, whether pydantic found it or a route did (`bad_field`).
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel


class Problem(BaseModel):
    """Why the request was refused."""

    detail: str


class FieldError(BaseModel):
    field: str  # a dotted path like contact.email, or `body`
    message: str


class FieldProblems(Problem):
    """422: every bad field, named."""

    errors: list[FieldError]


def bad_field(field: str, message: str) -> RequestValidationError:
    """A 422 for one field a route checked itself, answered like pydantic's own."""
    return RequestValidationError([{"loc": (field,), "msg": message, "type": "value_error"}])


def named_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Each problem as `{field, message}`: a dotted path (`contact.email`), or `body` when the
    body is not JSON at all (pydantic puts the character offset where the field goes)."""
    errors = []
    for err in exc.errors():
        if err["type"] == "json_invalid":
            reason = err.get("ctx", {}).get("error", "cannot be read")
            where = err["loc"][-1]
            message = f"is not JSON ({reason} at character {where})"
            errors.append({"field": "body", "message": message})
            continue
        loc = [str(p) for p in err["loc"] if p not in ("body", "query", "header", "path")]
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "is not a known field"
        errors.append({"field": ".".join(loc) or "body", "message": message})
    return errors


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


Responses = dict[int | str, dict[str, Any]]
# a body that is not JSON is a 422 on `body` (named_errors); 400 is for one not even text
UNREADABLE: Responses = {
    400: _problem("the body could not be read (not UTF-8, or broken form data)")
}
INVALID: Responses = {422: {"model": FieldProblems, "description": "bad fields, each named"}}
TOO_BIG: Responses = {413: _problem("the body is over 64 KB")}
KEYED: Responses = {
    401: _problem("no valid API key"),
    429: _problem("too many requests for this key; see Retry-After"),
}
NOT_FOUND: Responses = {404: _problem("no such lead")}
UNCONFIGURED: Responses = {503: _problem("no configuration has been applied yet")}
