"""Replay (pure): what a rule set would have done with stored leads."""

from datetime import UTC, datetime, timedelta

from bot.policy_file import validate_document
from bot.routing.directory import build_directory
from bot.routing.policy import LeadFacts, RoutingOptions, WeightedRotation
from bot.routing.replay import ReplayLead, replay
from tests.factories import config, partner

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def leads(n, postcode="80331", start=MONDAY, actual=None):
    return [
        ReplayLead(LeadFacts("DE", postcode, ("heat-pump",)), start + timedelta(minutes=i), actual)
        for i in range(n)
    ]


def run(doc, items, **options):
    directory = build_directory(validate_document(doc), version=1)
    return replay(
        directory,
        items,
        router=WeightedRotation(),
        options=RoutingOptions(**options),
        open_leads={},
    )


def test_shares_follow_weights_and_actuals_are_counted():
    doc = config([partner("acme", weight=3), partner("beta")])
    report = run(doc, leads(40, actual="beta"))
    assert report.would_get == {"acme": 30, "beta": 10}
    assert report.actually_got == {"beta": 40}
    assert report.rows()[0][:3] == ("acme", 30, 0.75)


def test_unassigned_reasons():
    doc = config([partner("acme")])
    items = leads(2, postcode="10115") + [
        ReplayLead(LeadFacts("DE", "80331", ("welding",)), MONDAY, None)
    ]
    report = run(doc, items)
    assert report.unassigned == {"no partner covers it": 2, "nobody does the specialty": 1}


def test_a_held_lead_goes_to_the_first_partner_to_open():
    closed = partner("weekday", hours={"mon-fri": "08:00-18:00"}, timezone="Europe/Berlin")
    saturday = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    report = run(config([closed]), leads(3, start=saturday), out_of_hours="hold")
    assert report.would_get == {"weekday": 3}
    skipped = run(config([closed]), leads(3, start=saturday), out_of_hours="skip")
    assert skipped.unassigned == {"everyone closed": 3}
