"""A cap on request bodies, announced or streamed (chunked uploads count as they arrive)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse

MAX_BODY = 64 * 1024


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_body` bytes, before it is all read."""

    def __init__(self, app: Any, max_body: int = MAX_BODY) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            response = JSONResponse(
                {"detail": f"the body is over {self.max_body} bytes"}, status_code=413
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:  # FastAPI passes HTTPException through body parsing
                    raise HTTPException(413, f"the body is over {self.max_body} bytes")
            return message

        await self.app(scope, counted, send)
