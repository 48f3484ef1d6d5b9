"""A territory index, so one routing decision never scans every partner's rules.

- prefixes: a dict per country keyed by prefix; a postcode of length n needs n lookups;
- numeric ranges: buckets of `RANGE_BUCKET` postcodes; a range spanning many buckets goes
  to a short list of wide ranges checked directly;
- radius: a grid of `CELL_DEG` degree cells; a circle is filed under every cell its bounding
  box touches, and the lead's cell gives the few circles worth measuring.
"""

from __future__ import annotations

from collections import defaultdict
from math import cos, floor, radians

from bot.domain.partners import Territory, TerritoryKind
from bot.routing.territory import distance_km

RANGE_BUCKET = 100
MAX_BUCKETS = 64
CELL_DEG = 0.5
KM_PER_DEG = 111.32

Entry = tuple[int, Territory]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return floor(lat / CELL_DEG), floor(lon / CELL_DEG)


class TerritoryIndex:
    def __init__(self) -> None:
        self._prefix: dict[str, dict[str, list[Entry]]] = defaultdict(lambda: defaultdict(list))
        self._buckets: dict[str, dict[int, list[Entry]]] = defaultdict(lambda: defaultdict(list))
        self._wide: dict[str, list[Entry]] = defaultdict(list)
        self._grid: dict[str, dict[tuple[int, int], list[Entry]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.size = 0

    def add(self, partner_id: int, rule: Territory) -> None:
        self.size += 1
        entry = (partner_id, rule)
        if rule.kind is TerritoryKind.PREFIX:
            self._prefix[rule.country][rule.value or ""].append(entry)
        elif rule.kind is TerritoryKind.RANGE:
            assert rule.range_from is not None and rule.range_to is not None
            first, last = rule.range_from // RANGE_BUCKET, rule.range_to // RANGE_BUCKET
            if last - first >= MAX_BUCKETS:
                self._wide[rule.country].append(entry)
            else:
                for bucket in range(first, last + 1):
                    self._buckets[rule.country][bucket].append(entry)
        else:
            assert rule.lat is not None and rule.lon is not None and rule.radius_km is not None
            dlat = rule.radius_km / KM_PER_DEG
            dlon = rule.radius_km / (KM_PER_DEG * max(0.01, cos(radians(rule.lat))))
            lat0, lon0 = _cell(rule.lat - dlat, rule.lon - dlon)
            lat1, lon1 = _cell(rule.lat + dlat, rule.lon + dlon)
            for i in range(lat0, lat1 + 1):
                for j in range(lon0, lon1 + 1):
                    self._grid[rule.country][(i, j)].append(entry)

    def covering(
        self, *, country: str, postcode: str, lat: float | None, lon: float | None
    ) -> dict[int, Territory]:
        """{partner id: the first rule of it that covers the lead} (postcode normalised)."""
        found: dict[int, Territory] = {}
        prefixes = self._prefix.get(country)
        if prefixes:
            for n in range(len(postcode), 0, -1):
                for pid, rule in prefixes.get(postcode[:n], ()):
                    found.setdefault(pid, rule)
        if postcode.isdigit():
            value = int(postcode)
            buckets = self._buckets.get(country)
            candidates = (
                buckets.get(value // RANGE_BUCKET, []) if buckets else []
            ) + self._wide.get(country, [])
            for pid, rule in candidates:
                if pid not in found and rule.range_from <= value <= rule.range_to:  # type: ignore[operator]
                    found[pid] = rule
        if lat is not None and lon is not None:
            grid = self._grid.get(country)
            for pid, rule in grid.get(_cell(lat, lon), []) if grid else []:
                if pid not in found and distance_km(lat, lon, rule.lat, rule.lon) <= rule.radius_km:  # type: ignore[arg-type,operator]
                    found[pid] = rule
        return found
