"""Sample leads for the demo: plausible, seeded, and entirely made up."""

from __future__ import annotations

import random

from bot.domain.leads import Contact, NewLead, Qualification, Temperature

PLACES = [
    ("80331", "München", 48.137, 11.575),
    ("80469", "München", 48.130, 11.572),
    ("80802", "München", 48.160, 11.589),
    ("81541", "München", 48.117, 11.595),
    ("81667", "München", 48.129, 11.600),
    ("82031", "Grünwald", 48.039, 11.525),
    ("82131", "Gauting", 48.069, 11.377),
    ("85221", "Dachau", 48.260, 11.434),
    ("85354", "Freising", 48.403, 11.749),
    ("85737", "Ismaning", 48.227, 11.676),
    ("86150", "Augsburg", 48.366, 10.894),
    ("10115", "Berlin", 52.532, 13.385),
]
NEEDS = [
    (("heat-pump",), "Replace a 20-year-old oil boiler in a detached house, 160 m²"),
    (("solar",), "8 kWp on a south-facing roof, looking for a quote this month"),
    (("solar", "battery"), "PV with a 10 kWh battery for a new build"),
    (("heat-pump", "ventilation"), "Heat pump and ventilation for a renovated 1970s bungalow"),
    (("battery",), "Add storage to an existing 6 kWp system"),
    (("heat-pump", "solar"), "Heat pump plus PV, want to be off gas by next winter"),
]
FIRST = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ida", "Jonas"]
LAST = ["Huber", "Maier", "Schmid", "Wagner", "Becker", "Yilmaz", "Hofmann", "Koch"]
SOURCES = ["website", "website", "website", "trade-show-2026"]


def sample_leads(count: int, rng: random.Random) -> list[NewLead]:
    """`count` leads spread over the sample partners' territories (and one nobody covers)."""
    leads = []
    for i in range(count):
        postcode, city, lat, lon = rng.choice(PLACES)
        specialties, need = rng.choice(NEEDS)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        leads.append(
            NewLead(
                source=rng.choice(SOURCES),
                external_id=f"demo-{i + 1:03d}",
                country="DE",
                postcode=postcode,
                city=city,
                lat=lat,
                lon=lon,
                specialties=specialties,
                need=need,
                temperature=rng.choice(list(Temperature)),
                qualification=rng.choice(list(Qualification)),
                estimated_value=float(rng.randrange(4_000, 40_000, 500)),
                contact=Contact(
                    name=f"{first} {last}",
                    email=f"{first}.{last}@example.com".lower(),
                    phone=f"+49 89 {rng.randrange(1000000, 9999999)}",
                    street=f"Musterstraße {rng.randrange(1, 120)}",
                ),
            )
        )
    return leads
