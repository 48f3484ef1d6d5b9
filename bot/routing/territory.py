"""Does a territory rule cover a lead's postcode or position?"""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

from bot.domain.partners import Territory, TerritoryKind, is_digits

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a))


def covers(
    rule: Territory, *, country: str, postcode: str, lat: float | None, lon: float | None
) -> bool:
    """True when `rule` covers the lead (postcode already normalised)."""
    if rule.country != country:
        return False
    if rule.kind is TerritoryKind.PREFIX:
        return postcode.startswith(rule.value or "\0")
    if rule.kind is TerritoryKind.RANGE:
        if not is_digits(postcode):
            return False
        assert rule.range_from is not None and rule.range_to is not None
        return rule.range_from <= int(postcode) <= rule.range_to
    if lat is None or lon is None or rule.lat is None or rule.lon is None:
        return False  # radius rules need coordinates on both sides
    return distance_km(lat, lon, rule.lat, rule.lon) <= (rule.radius_km or 0)


def first_covering(
    rules: tuple[Territory, ...],
    *,
    country: str,
    postcode: str,
    lat: float | None,
    lon: float | None,
) -> Territory | None:
    for rule in rules:
        if covers(rule, country=country, postcode=postcode, lat=lat, lon=lon):
            return rule
    return None
