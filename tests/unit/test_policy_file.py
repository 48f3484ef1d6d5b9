"""leadbot.yaml validation: a bad file is refused whole, every problem listed with its path."""

from pathlib import Path

import pytest

from bot.domain.errors import ConfigError
from bot.policy_file import load_file, validate_document
from tests.factories import config, partner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leadbot.yaml"


def refused(doc: dict) -> list[str]:
    """The problems of a document that must be refused, as `config check leadbot.yaml` lists
    them."""
    with pytest.raises(ConfigError) as caught:
        validate_document(doc, filename="leadbot.yaml")
    return caught.value.problems


def test_the_shipped_example_is_valid():
    cfg, _ = load_file(EXAMPLE)
    assert len(cfg.partners) >= 4
    assert cfg.policy.offer_timeout.total_seconds() == 1800


def test_every_problem_is_listed_with_its_path():
    doc = config(
        [
            partner("acme"),
            partner("beta"),
            partner(
                "gamma",
                territories=["DE:80", "DE:8x"],
                timezone="Mars/Base",
                weight=0,
                colour="blue",
            ),
        ],
        offer_timeout="soon",
    )
    problems = refused(doc)
    problems = problems
    assert "leadbot.yaml: partners[2].territories[1]: 'DE:8x' is not a postcode prefix" in problems
    assert any(p.startswith("leadbot.yaml: partners[2].timezone: 'Mars/Base'") for p in problems)
    assert any(p.startswith("leadbot.yaml: partners[2].weight:") for p in problems)
    assert "leadbot.yaml: partners[2].colour: is not a known setting" in problems
    assert any(p.startswith("leadbot.yaml: policy.offer_timeout: 'soon'") for p in problems)
    assert len(problems) == 5


def test_cross_checks_duplicate_slugs_identities_and_missing_chats():
    doc = config(
        [
            partner("acme"),
            partner("acme", slack_channel=None),
            partner("beta", members=[{"name": "Ada again", "slack": "U0ADA"}]),
        ]
    )
    problems = refused(doc)
    text = "\n".join(problems)
    assert "partners[1].slug: 'acme' is already used by partners[0]" in text
    assert "partners[1]: needs a slack_channel or a telegram_chat" in text
    assert "partners[2].members[0].slack: U0ADA is already managers.members[0]" in text


def test_yaml_syntax_errors_give_a_line(tmp_path):
    bad = tmp_path / "leadbot.yaml"
    bad.write_text("policy:\n  mode: [exclusive\n")
    with pytest.raises(ConfigError) as caught:
        load_file(bad)
    problems = caught.value.problems
    assert "line 3" in problems[0] or "line 2" in problems[0]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_file(tmp_path / "nope.yaml")


def test_a_file_not_in_utf8_is_a_clear_error_naming_its_line(tmp_path):
    latin1 = tmp_path / "leadbot.yaml"
    latin1.write_bytes("partners:\n  - slug: mueller\n    name: Müller Wärme\n".encode("cp1252"))
    with pytest.raises(ConfigError) as caught:
        load_file(latin1)
    problems = caught.value.problems
    assert problems == [f"{latin1}: line 3: is not UTF-8 text (byte 0xfc); save the file as UTF-8"]


def test_cross_checks_are_listed_together_with_field_errors():
    doc = config([partner("acme", capacity="lots"), partner("acme")])
    problems = refused(doc)
    text = "\n".join(problems)
    assert "partners[0].capacity:" in text
    assert "partners[1].slug: 'acme' is already used by partners[0]" in text


def test_holidays_are_dates():
    good = config([partner("acme", holidays=["2026-12-24"])])
    assert str(validate_document(good).partners[0].holidays[0]) == "2026-12-24"
    with pytest.raises(ConfigError, match=r"partners\[0\].holidays\[0\]"):
        validate_document(config([partner("acme", holidays=["Christmas"])]))


def test_impossible_values_are_refused():
    doc = config([partner("acme", name="x" * 201)], offer_timeout="0s")
    doc["digest"] = {"time": "25:70"}
    problems = refused(doc)
    text = "\n".join(problems)
    assert "policy.offer_timeout: must be longer than zero" in text
    assert "digest.time:" in text and "partners[0].name:" in text


def test_telegram_dm_is_true_by_default_and_only_true_or_false():
    member = {"name": "Bob", "telegram": 2002}
    cfg = validate_document(config([partner("acme", members=[member])]))
    assert cfg.partners[0].members[0].telegram_dm is True
    off = validate_document(config([partner("acme", members=[{**member, "telegram_dm": False}])]))
    assert off.partners[0].members[0].telegram_dm is False
    for bad in ("off", 0, "false"):
        doc = config([partner("acme", members=[{**member, "telegram_dm": bad}])])
        problems = refused(doc)
        assert problems == [
            f"leadbot.yaml: partners[0].members[0].telegram_dm: must be true or false, not {bad!r}"
        ]


def test_a_forms_source_and_origins_follow_the_rules_they_meet_later():
    """The source as the intake API would take it; the origins as browsers send them."""
    doc = config([partner("acme")])
    doc["forms"] = [
        {"key": "f", "source": "web site", "allowed_origins": ["https://x.com/contact", "x.com"]}
    ]
    problems = refused(doc)
    problems = problems
    assert [p.split(": ")[1] for p in problems] == [
        "forms[0].source",
        "forms[0].allowed_origins[0]",
        "forms[0].allowed_origins[1]",
    ]
    assert "'web site' is not a source name" in problems[0]
    # applied before these rules, it still reads back: the running policy must not stop
    stored = validate_document(doc, stored=True).forms[0]
    assert stored.source == "web site" and stored.allowed_origins == [
        "https://x.com/contact",
        "x.com",
    ]
    doc["forms"] = [
        {
            "key": "f",
            "source": "website",
            "allowed_origins": ["HTTPS://WWW.Example.com:443/", "http://127.0.0.1:8080/"],
        }
    ]
    origins = validate_document(doc).forms[0].allowed_origins
    assert origins == ["https://www.example.com", "http://127.0.0.1:8080"]


def test_slugs_the_chat_commands_would_read_as_something_else_are_refused():
    """A partner called 'all' would be given everyone's funnel; '30d' could not be named."""
    doc = config([partner(slug) for slug in ("all", "until", "30d", "2026-03", "1komma5")])
    problems = refused(doc)
    problems = problems
    assert [p.split(":")[1].strip() for p in problems] == [f"partners[{i}].slug" for i in range(4)]
    assert "a word of the chat commands (everyone's funnel)" in problems[0]
    assert "reads as a period in 'funnel'" in problems[2]
    validate_document(doc, stored=True)  # applied before the rule: still read back


def test_a_territory_in_a_country_that_is_no_country_is_refused():
    """Leads are refused for such a code (UK is GB), so the partner would never get one."""
    doc = config([partner("acme", territories=["DE:80", "UK:SW1", "XX:80"])])
    problems = refused(doc)
    assert problems == [
        "leadbot.yaml: partners[0].territories[1]: 'UK' is not a country code"
        " (ISO 3166-1 alpha-2, like DE) (did you mean GB?)",
        "leadbot.yaml: partners[0].territories[2]: 'XX' is not a country code"
        " (ISO 3166-1 alpha-2, like DE)",
    ]
    # applied before this rule, it still reads back: the running policy must not stop
    assert validate_document(doc, stored=True).partners[0].territories[1] == "UK:SW1"


def test_a_form_field_mapped_to_no_field_of_a_lead_is_refused():
    """At intake a value mapped nowhere is left out: the e-mail of every lead would be lost."""
    doc = config([partner("acme")])
    doc["forms"] = [
        {
            "key": "f",
            "source": "website",
            "fields": {"mail": "contact.e-mail", "plz": "postcode", "id": "external_id"},
        }
    ]
    problems = refused(doc)
    problems = problems
    assert [p.split(": ", 2)[1] for p in problems] == ["forms[0].fields.mail", "forms[0].fields.id"]
    assert "'contact.e-mail' is not a field a form may fill" in problems[0]
    assert "contact.email" in problems[0]  # the fields it may fill are listed
    assert validate_document(doc, stored=True).forms[0].fields["mail"] == "contact.e-mail"


def test_lost_needs_at_least_one_reason_as_decline_does():
    """Marking a lead Lost needs one of the reasons: with none, no lead could ever be lost."""
    doc = config([partner("acme")], lost_reasons=[])
    problems = refused(doc)
    assert problems == ["leadbot.yaml: policy.lost_reasons: needs at least one reason"]
    assert validate_document(doc, stored=True).policy.lost_reasons == []  # applied before


def test_a_slug_that_is_a_list_is_listed_not_a_crash():
    doc = config([{**partner("acme"), "slug": ["acme"]}, partner("beta", capacity=-1)])
    problems = refused(doc)
    problems = problems
    assert "leadbot.yaml: partners[0].slug: Input should be a valid string" in problems
    assert any(p.startswith("leadbot.yaml: partners[1].capacity:") for p in problems)


def test_two_forms_with_one_key_are_refused():
    """Both would be POST /api/v1/forms/<key>: only the first would ever be used."""
    doc = config([partner("acme")])
    doc["forms"] = [
        {"key": "heat-pump", "source": "website"},
        {"key": "heat-pump", "source": "fair", "redirect": "https://example.com/thanks"},
    ]
    problems = refused(doc)
    assert problems == ["leadbot.yaml: forms[1].key: 'heat-pump' is already used by forms[0]"]
    assert len(validate_document(doc, stored=True).forms) == 2  # applied before: reads back


def test_a_duration_too_long_for_a_clock_is_listed_not_a_crash():
    doc = config([partner("acme", capacity=-1)], offer_timeout="99999999999d")
    problems = refused(doc)
    problems = problems
    assert "leadbot.yaml: policy.offer_timeout: '99999999999d' is too long" in problems
    assert any(p.startswith("leadbot.yaml: partners[0].capacity:") for p in problems)


def test_a_duration_without_a_unit_is_refused_also_with_a_decimal_point():
    """`30` is refused for want of a unit; `1.5` was taken as 1.5 seconds: every offer expired
    at once, and every lead went straight to the managers."""
    doc = config([partner("acme")], offer_timeout=1.5, stale_after=2.0)
    problems = refused(doc)
    assert problems == [
        "leadbot.yaml: policy.offer_timeout: '1.5' is not a duration; use a number and s, m, h"
        " or d, like 30m",
        "leadbot.yaml: policy.stale_after: '2.0' is not a duration; use a number and s, m, h"
        " or d, like 30m",
    ]
    stored = validate_document(doc, stored=True).policy  # applied before: reads back as it was
    assert stored.offer_timeout.total_seconds() == 1.5


def test_a_key_given_twice_is_refused_not_half_read(tmp_path):
    """YAML keeps the last of two equal keys: a second `partners:` would drop every partner of
    the first (and apply would withdraw their offers)."""
    path = tmp_path / "leadbot.yaml"
    path.write_text(
        "partners:\n"
        "  - {slug: acme, name: Acme, territories: ['DE:80'], telegram_chat: -1,\n"
        "     capacity: 5, capacity: 50}\n"
        "policy: {mode: exclusive}\n"
        "partners:\n"
        "  - {slug: beta, name: Beta, territories: ['DE:81'], telegram_chat: -2}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    problems = caught.value.problems
    assert problems == [
        f"{path}: line 3: 'capacity' is given twice in this mapping (first on line 3);"
        " only the last would count",
        f"{path}: line 5: 'partners' is given twice in this mapping (first on line 1);"
        " only the last would count",
    ]


def test_specialties_and_languages_are_matched_in_lower_case_as_leads_give_them():
    """A lead's specialties are stored lower-cased and its language must be ('de'): a partner
    written with 'Heat-Pump' or 'DE' was dropped by those filters for every lead."""
    from bot.routing.directory import partner_facts

    doc = config([partner("acme", specialties=["Heat-Pump", " Solar "], languages=["DE"])])
    facts = partner_facts(1, validate_document(doc).partners[0])
    assert facts.specialties == {"heat-pump", "solar"} and facts.languages == {"de"}


def test_a_language_that_no_lead_can_have_is_refused():
    """A lead's language is two letters ('de'): 'deutsch' would never match one."""
    doc = config([partner("acme", languages=["de", "deutsch", "en-GB"])])
    problems = refused(doc)
    assert problems == [
        "leadbot.yaml: partners[0].languages[1]: 'deutsch' is not a language code: two"
        " letters, like de (ISO 639-1), as leads give it",
        "leadbot.yaml: partners[0].languages[2]: 'en-GB' is not a language code: two"
        " letters, like de (ISO 639-1), as leads give it",
    ]
    assert validate_document(doc, stored=True).partners[0].languages[1] == "deutsch"


def test_a_source_name_no_lead_can_have_is_refused_in_sources():
    """Costs are looked up by a lead's source: a name the intake refuses is never counted."""
    doc = config([partner("acme")])
    doc["sources"] = {"website": {"cost_per_lead": 35}, "trade show 2026": {"cost_per_lead": 120}}
    problems = refused(doc)
    (problem,) = problems
    assert problem.startswith(
        "leadbot.yaml: sources.trade show 2026.[key]: 'trade show 2026' is not a source name"
    )
    assert "trade show 2026" in validate_document(doc, stored=True).sources


def test_a_slack_channel_given_by_its_name_is_refused_asking_for_its_id():
    doc = config([partner("acme", slack_channel="#acme-leads")])
    doc["managers"] = {**doc["managers"], "slack_channel": "#managers"}
    problems = refused(doc)
    assert problems == [
        f"leadbot.yaml: {where}.slack_channel: '{name}' is the channel's name: give its ID"
        " (like C0123ABCD: the channel's details in Slack show it at the bottom)"
        for where, name in (("managers", "#managers"), ("partners[0]", "#acme-leads"))
    ]
    assert validate_document(doc, stored=True).partners[0].slack_channel == "#acme-leads"


def test_two_members_of_one_partner_with_one_name_are_refused():
    """`members invite NAME --partner` and the card's responder find people by name; two
    partners may each have a Bob."""
    bob = {"name": "Bob", "slack": "U1", "role": "partner_rep"}
    acme = partner("acme", members=[bob, {"name": "Bob", "telegram": 42}])
    beta = partner("beta", members=[{**bob, "slack": "U2"}])
    assert refused(config([acme, beta])) == [
        "leadbot.yaml: partners[0].members[1].name: 'Bob' is already partners[0].members[0]"
        " (members invite and cards find people by name)"
    ]
    validate_document(config([acme, beta]), stored=True)
