"""Geocoding: (country, postcode) to a centroid, so radius rules can apply.

US centroids come from the `zipcodes` package (data inside the wheel, works offline); other
countries from GeoNames postal-code files loaded with `leadbot geo import`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.domain.partners import is_digits
from bot.text_files import decode_utf8


@dataclass(frozen=True)
class Centroid:
    country: str
    postcode: str
    lat: float
    lon: float
    place: str = ""


class Geocoder(Protocol):
    def locate(self, country: str, postcode: str) -> tuple[float, float] | None: ...


class UsZipcodes:
    """US ZIP centroids from the `zipcodes` package."""

    def locate(self, country: str, postcode: str) -> tuple[float, float] | None:
        if country != "US" or not is_digits(postcode[:5]):
            return None
        import zipcodes  # loads its bundled data on first use

        matches = zipcodes.matching(postcode[:5])
        if not matches:
            return None
        return float(matches[0]["lat"]), float(matches[0]["long"])


class PlaceCache:
    """Recent look-ups of imported centroids (misses too), so intake rarely asks the database.

    Entries live `ttl` seconds: a `leadbot geo import` reaches a running server within that.
    """

    def __init__(self, *, ttl: float = 300.0, size: int = 50_000) -> None:
        self._ttl, self._size = ttl, size
        self._seen: dict[tuple[str, str], tuple[float, tuple[float, float] | None]] = {}

    def get(self, key: tuple[str, str], now: float) -> tuple[bool, tuple[float, float] | None]:
        """(known, centroid): known is False when the database must be asked."""
        hit = self._seen.get(key)
        if hit is None or hit[0] < now:
            return False, None
        return True, hit[1]

    def put(self, key: tuple[str, str], value: tuple[float, float] | None, now: float) -> None:
        if len(self._seen) >= self._size:
            self._seen.clear()  # crude but bounded; refills from the database in one pass
        self._seen[key] = (now + self._ttl, value)


def read_geonames(path: Path) -> Iterator[Centroid]:
    """Rows of a GeoNames postal-code file (allCountries.txt / DE.txt, tab separated).

    Columns: country, postal code, place, admin1 name, admin1 code, admin2 name, admin2 code,
    admin3 name, admin3 code, latitude, longitude, accuracy. Raises ValueError with the line
    number for a malformed row.
    """
    with path.open("rb") as handle:
        # decoded line by line: allCountries.txt is large, and a line that is not UTF-8 is
        # named by its number
        lines = (decode_utf8(path, raw, line=n) for n, raw in enumerate(handle, start=1))
        for number, row in enumerate(
            csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), start=1
        ):
            if not row or not row[0].strip():
                continue
            if len(row) < 11:
                raise ValueError(
                    f"{path}: line {number}: expected 12 tab-separated columns, found {len(row)}"
                )
            try:
                lat, lon = float(row[9]), float(row[10])
            except ValueError:
                raise ValueError(
                    f"{path}: line {number}: latitude/longitude are not numbers"
                ) from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # nan fails these too
                raise ValueError(
                    f"{path}: line {number}: latitude/longitude {row[9]},{row[10]} are not a"
                    " place on Earth (-90..90, -180..180)"
                )
            postcode = row[1].replace(" ", "").replace("-", "").upper()
            yield Centroid(row[0].strip().upper(), postcode, lat, lon, row[2])
