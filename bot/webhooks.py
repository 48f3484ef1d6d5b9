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

import httpx

from bot.messaging import DeliveryError


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
        secret = os.environ.get(payload["secret_env"], "")
        if not secret:
            raise DeliveryError(
                f"the webhook secret {payload['secret_env']} is not set", permanent=False
            )
        body = json.dumps(payload["body"], separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Leadbot-Event": payload["event"],
            "X-Leadbot-Signature": sign(secret, int(time.time()), body),
        }
        try:
            response = await self._client.post(payload["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook {payload['url']}: {type(exc).__name__}", permanent=False
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
            # a receiver that is down or failing answers 5xx: keep trying; 4xx too, since a
            # CRM misconfiguration is fixed by people, and the events must still arrive after
            raise DeliveryError(
                f"webhook {payload['url']} answered {response.status_code}", permanent=False
            )

    async def close(self) -> None:
        await self._client.aclose()
