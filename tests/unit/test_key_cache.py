"""Verified API keys are remembered briefly; a revoked key stops working within the ttl."""

from bot.handlers.ratelimit import KeyCache


def test_a_verified_key_is_remembered_until_its_ttl() -> None:
    now = [0.0]
    cache = KeyCache(ttl=10, clock=lambda: now[0])
    assert cache.get("h1") is None
    cache.put("h1", "website")
    now[0] = 9.9
    assert cache.get("h1") == "website"
    now[0] = 10.1
    assert cache.get("h1") is None  # asked again: a revoked key is refused from here on
