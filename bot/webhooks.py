"""Signed event callbacks to the manufacturer's CRM (`webhooks:` in leadbot.yaml).

Events are queued in the outbox in the same transaction as the change they report, and sent
in order, retried with backoff for a long while, never blocking dispatch. Each request carries
`X-Leadbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the secret
from the environment variable the webhook names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.messaging import DeliveryError


def shown(url: str) -> str:
    """`url` as logs, errors and notices show it: scheme, host and port only. Webhook URLs
    often carry a token (in the query, the path or the user part), and none is ever logged."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: nothing of it is shown
        port = ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300) -> bool:
    """For receivers: the signature matches and is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


class WebhookPoster:
    """POSTs one queued event; DeliveryError says whether to try again."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout)

    async def post(self, payload: dict[str, Any]) -> None:
        where = shown(payload["url"])  # every reason names the endpoint, without its token
        secret = os.environ.get(payload["secret_env"], "")
        if not secret:
            raise DeliveryError(
                f"webhook {where}: its secret {payload['secret_env']} is not set", permanent=False
            )
        body = json.dumps(payload["body"], separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Leadbot-Event": payload["event"],
            "X-Leadbot-Signature": sign(secret, int(time.time()), body),
        }
        try:
            response = await self._client.post(payload["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:  # no answer: the endpoint, not this event
            raise DeliveryError(
                f"webhook {where}: {type(exc).__name__}", permanent=False, outage=True
            ) from None
        if response.status_code == 429:
            retry = response.headers.get("retry-after", "")
            raise DeliveryError(
                "webhook rate limited",
                permanent=False,
                retry_after=min(float(retry), 3600.0)
                if retry.isascii() and retry.isdigit()
                else 30.0,
            )
        if response.status_code >= 300:
            # a receiver that is down or failing answers 5xx (the endpoint waits): keep
            # trying; 4xx too (maybe this event only), since a CRM misconfiguration is fixed
            # by people, and the events must still arrive after
            raise DeliveryError(
                f"webhook {where} answered {response.status_code}",
                permanent=False,
                outage=response.status_code >= 500,
            )

    async def close(self) -> None:
        await self._client.aclose()
