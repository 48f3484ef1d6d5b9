"""The territory index finds exactly what a scan of every rule finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.partners import parse_territory
from bot.routing.index import TerritoryIndex
from bot.routing.territory import covers

prefixes = st.from_regex(r"\A[0-9]{1,4}\Z")
ranges = st.tuples(st.integers(0, 99_999), st.integers(0, 30_000)).map(
    lambda t: f"{t[0]:05d}-{min(99_999, t[0] + t[1]):05d}"
)
radii = st.tuples(st.floats(47, 49), st.floats(10, 13), st.integers(1, 120)).map(
    lambda t: f"radius:{t[0]:.3f},{t[1]:.3f}:{t[2]}km"
)
rules = st.lists(
    st.tuples(
        st.integers(1, 30), st.sampled_from(["DE", "AT"]), st.one_of(prefixes, ranges, radii)
    ),
    max_size=60,
)
leads = st.tuples(
    st.sampled_from(["DE", "AT"]),
    st.from_regex(r"\A[0-9]{5}\Z"),
    st.one_of(st.none(), st.tuples(st.floats(46.5, 49.5), st.floats(9.5, 13.5))),
)


@settings(max_examples=300, deadline=None)
@given(rules=rules, lead=leads)
def test_index_matches_a_full_scan(rules, lead):
    country, postcode, coords = lead
    lat, lon = coords if coords else (None, None)
    index = TerritoryIndex()
    parsed = [(pid, parse_territory(f"{c}:{text}")) for pid, c, text in rules]
    for pid, rule in parsed:
        index.add(pid, rule)
    found = index.covering(country=country, postcode=postcode, lat=lat, lon=lon)
    expected = {
        pid
        for pid, rule in parsed
        if covers(rule, country=country, postcode=postcode, lat=lat, lon=lon)
    }
    assert set(found) == expected
    for rule in found.values():
        assert covers(rule, country=country, postcode=postcode, lat=lat, lon=lon)


def test_wide_ranges_and_far_radii():
    index = TerritoryIndex()
    index.add(1, parse_territory("DE:10000-99999"))  # wide: kept aside, still found
    index.add(2, parse_territory("DE:radius:52.52,13.40:30km"))
    assert set(index.covering(country="DE", postcode="80331", lat=48.14, lon=11.58)) == {1}
    assert set(index.covering(country="DE", postcode="10115", lat=52.53, lon=13.38)) == {1, 2}
    assert index.covering(country="AT", postcode="80331", lat=None, lon=None) == {}


def test_points_just_inside_a_circle_are_found():
    index = TerritoryIndex()
    rule = parse_territory("DE:radius:48.137,11.575:40km")
    index.add(1, rule)
    # 39.99 km due north, and 39.99 km due east: inside, at the edge of the bounding box
    north = 48.137 + 39.99 / 111.19508
    assert covers(rule, country="DE", postcode="80000", lat=north, lon=11.575)
    assert set(index.covering(country="DE", postcode="80000", lat=north, lon=11.575)) == {1}
    for lon in (11.575 + 0.5386, 11.575 - 0.5386):
        inside = covers(rule, country="DE", postcode="80000", lat=48.137, lon=lon)
        found = set(index.covering(country="DE", postcode="80000", lat=48.137, lon=lon))
        assert found == ({1} if inside else set())
