"""The in-memory cache of imported postcode centroids in front of the database."""

from bot.routing.geo import PlaceCache


def test_hits_and_misses_are_remembered_until_their_ttl() -> None:
    cache = PlaceCache(ttl=60)
    assert cache.get(("DE", "80331"), now=0) == (False, None)  # unknown: ask the database
    cache.put(("DE", "80331"), (48.1, 11.5), now=0)
    cache.put(("DE", "99999"), None, now=0)  # a miss is remembered too
    assert cache.get(("DE", "80331"), now=59) == (True, (48.1, 11.5))
    assert cache.get(("DE", "99999"), now=59) == (True, None)
    assert cache.get(("DE", "80331"), now=61) == (False, None)  # expired: ask again


def test_size_is_bounded() -> None:
    cache = PlaceCache(ttl=60, size=3)
    for n in range(10):
        cache.put(("DE", str(n)), None, now=0)
    assert sum(cache.get(("DE", str(n)), now=1)[0] for n in range(10)) <= 3
