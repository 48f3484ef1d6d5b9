"""The demo's sample leads: the same seed gives the same leads, and every one of them passes
the intake API's validation (the demo feeds them through it)."""

import random

from bot.demo.run import as_json
from bot.demo.samples import sample_leads
from bot.intake_schema import LeadIn


def test_a_seed_gives_the_same_leads():
    first, again = sample_leads(40, random.Random(7)), sample_leads(40, random.Random(7))
    assert first == again
    assert first != sample_leads(40, random.Random(8))


def test_every_sample_lead_is_one_the_intake_api_takes():
    for new in sample_leads(200, random.Random(1)):
        taken = LeadIn.model_validate(as_json(new)).to_new_lead()
        assert (taken.country, taken.postcode, taken.contact.email) == (
            new.country, new.postcode, new.contact.email,
        )  # fmt: skip
