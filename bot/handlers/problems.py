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


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


Responses = dict[int | str, dict[str, Any]]
UNREADABLE: Responses = {400: _problem("the body could not be parsed (not UTF-8 JSON)")}
INVALID: Responses = {422: {"model": FieldProblems, "description": "bad fields, each named"}}
TOO_BIG: Responses = {413: _problem("the body is over 64 KB")}
KEYED: Responses = {
    401: _problem("no valid API key"),
    429: _problem("too many requests for this key; see Retry-After"),
}
NOT_FOUND: Responses = {404: _problem("no such lead")}
