"""Slack settings that must agree: `slack_team` on members (Slack Connect) in leadbot.yaml, and
the app manifest with the scopes and events the code uses."""

from pathlib import Path

import pytest
import yaml

from bot.domain.errors import ConfigError
from bot.handlers.slack.oauth import REDIRECT_PATH, SCOPES
from bot.policy_file import validate_document
from tests.factories import config, partner

ROOT = Path(__file__).resolve().parents[2]


def member(**fields):
    return {"name": "Dan", "role": "partner_rep", **fields}


def problems(doc) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate_document(doc, filename="leadbot.yaml")
    return caught.value.problems


def test_a_member_may_name_the_workspace_of_their_slack_id():
    doc = config([partner("acme", members=[member(slack="U0DAN", slack_team="T0ACMECO")])])
    (acme,) = validate_document(doc).partners
    assert acme.members[0].slack_team == "T0ACMECO"


def test_bad_slack_teams_are_refused_with_their_path():
    doc = config(
        [
            partner("acme", members=[member(slack="U0DAN", slack_team="acme co")]),
            partner("beta", members=[member(telegram=5, slack_team="T0BETA")]),
        ]
    )
    found = problems(doc)
    assert any(p.startswith("leadbot.yaml: partners[0].members[0].slack_team:") for p in found)
    assert "leadbot.yaml: partners[1].members[0].slack_team: goes with a slack user id" in found


def test_one_slack_id_in_two_workspaces_is_two_people_but_not_twice_in_one():
    two = config(
        [
            partner("acme", members=[member(slack="U0DAN", slack_team="T0ACMECO")]),
            partner("beta", slack_team="T0BETA", members=[member(slack="U0DAN")]),
        ]
    )
    validate_document(two)  # keyed by (team, user): no clash
    twice = config(
        [
            partner("acme", members=[member(slack="U0DAN", slack_team="T0BETA")]),
            partner("beta", slack_team="T0BETA", members=[member(slack="U0DAN")]),
        ]
    )
    assert any("U0DAN is already partners[0].members[0]" in p for p in problems(twice))


def test_the_manifest_asks_for_the_scopes_and_events_leadbot_uses():
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yaml").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(SCOPES)
    assert any(url.endswith(REDIRECT_PATH) for url in manifest["oauth_config"]["redirect_urls"])
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == ["app_home_opened", "app_uninstalled", "tokens_revoked"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/lead"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
