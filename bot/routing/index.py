"""A territory index, so one routing decision never scans every partner's rules.

- prefixes: a dict per country keyed by prefix; a postcode of length n needs n lookups;
- numeric ranges: buckets of `RANGE_BUCKET` postcodes; a range spanning many buckets goes
  to a short list of wide ranges checked directly;
- radius: a grid of `CELL_DEG` degree cells; a circle is filed under every cell its bounding
  box touches, and the lead's cell gives the few circles worth measuring.
"""

from __future__ import annotations

from collections import defaultdict
from math import cos, floor, pi, radians

from bot.domain.partners import Territory, TerritoryKind, is_digits
from bot.routing.territory import EARTH_RADIUS_KM, distance_km

RANGE_BUCKET = 50
MAX_BUCKETS = 128
CELL_DEG = 0.5
# a degree of latitude on the sphere distance_km uses, widened a little so boxes err outwards
KM_PER_DEG = 2 * pi * EARTH_RADIUS_KM / 360 * 0.99

Entry = tuple[int, Territory]
# a range with its bounds unpacked (the hot loop reads them many times per lookup)
Span = tuple[int, int, int, Territory]
# a circle with its bounding box, so most misses cost four comparisons instead of trigonometry
Circle = tuple[int, Territory, float, float, float, float, float, float, float]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return floor(lat / CELL_DEG), floor(lon / CELL_DEG)


class TerritoryIndex:
    def __init__(self) -> None:
        self._prefix: dict[str, dict[str, list[Entry]]] = defaultdict(lambda: defaultdict(list))
        # per bucket: ranges covering all of it (found with one dict merge), and the rest
        self._full: dict[str, dict[int, dict[int, Territory]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        self._buckets: dict[str, dict[int, list[Span]]] = defaultdict(lambda: defaultdict(list))
        self._wide: dict[str, list[Span]] = defaultdict(list)
        self._grid: dict[str, dict[tuple[int, int], list[Circle]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._prefix_lengths: dict[str, list[int]] = defaultdict(list)  # longest first
        self.size = 0

    def add(self, partner_id: int, rule: Territory) -> None:
        self.size += 1
        entry = (partner_id, rule)
        if rule.kind is TerritoryKind.PREFIX:
            prefix = rule.value or ""
            self._prefix[rule.country][prefix].append(entry)
            lengths = self._prefix_lengths[rule.country]
            if len(prefix) not in lengths:
                lengths.append(len(prefix))
                lengths.sort(reverse=True)
        elif rule.kind is TerritoryKind.RANGE:
            assert rule.range_from is not None and rule.range_to is not None
            span = (partner_id, rule.range_from, rule.range_to, rule)
            first, last = rule.range_from // RANGE_BUCKET, rule.range_to // RANGE_BUCKET
            if last - first >= MAX_BUCKETS:
                self._wide[rule.country].append(span)
            else:
                for bucket in range(first, last + 1):
                    low, high = bucket * RANGE_BUCKET, (bucket + 1) * RANGE_BUCKET - 1
                    if rule.range_from <= low and high <= rule.range_to:
                        self._full[rule.country][bucket].setdefault(partner_id, rule)
                    else:
                        self._buckets[rule.country][bucket].append(span)
        else:
            assert rule.lat is not None and rule.lon is not None and rule.radius_km is not None
            dlat = rule.radius_km / KM_PER_DEG
            widest = min(89.9, abs(rule.lat) + dlat)  # longitude degrees shrink towards the pole
            dlon = min(180.0, rule.radius_km / (KM_PER_DEG * cos(radians(widest))))
            circle = (
                partner_id,
                rule,
                rule.lat - dlat,
                rule.lat + dlat,
                rule.lon - dlon,
                rule.lon + dlon,
                rule.lat,
                rule.lon,
                rule.radius_km,
            )
            lat0, lon0 = _cell(rule.lat - dlat, rule.lon - dlon)
            lat1, lon1 = _cell(rule.lat + dlat, rule.lon + dlon)
            for i in range(lat0, lat1 + 1):
                for j in range(lon0, lon1 + 1):
                    self._grid[rule.country][(i, j)].append(circle)

    def covering(
        self, *, country: str, postcode: str, lat: float | None, lon: float | None
    ) -> dict[int, Territory]:
        """{partner id: the first rule of it that covers the lead} (postcode normalised)."""
        found: dict[int, Territory] = {}
        prefixes = self._prefix.get(country)
        if prefixes:
            for n in self._prefix_lengths[country]:  # only lengths some rule uses
                if n <= len(postcode):
                    for pid, rule in prefixes.get(postcode[:n], ()):
                        if pid not in found:
                            found[pid] = rule
        if is_digits(postcode):
            value = int(postcode)
            full = self._full.get(country)
            whole = full.get(value // RANGE_BUCKET) if full else None
            if whole:
                found = {**whole, **found}  # rules found earlier keep precedence
            buckets = self._buckets.get(country)
            for entries in (
                buckets.get(value // RANGE_BUCKET, ()) if buckets else (),
                self._wide.get(country, ()),
            ):
                for pid, low, high, rule in entries:
                    if low <= value <= high and pid not in found:
                        found[pid] = rule
        if lat is not None and lon is not None:
            grid = self._grid.get(country)
            for pid, rule, la0, la1, lo0, lo1, clat, clon, km in (
                grid.get(_cell(lat, lon), ()) if grid else ()
            ):
                if (
                    pid not in found
                    and la0 <= lat <= la1
                    and lo0 <= lon <= lo1
                    and distance_km(lat, lon, clat, clon) <= km
                ):
                    found[pid] = rule
        return found
