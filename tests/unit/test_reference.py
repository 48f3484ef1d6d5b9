"""docs/configuration.md is generated from the code: it must match, and every key is explained."""

from bot.config import Settings
from bot.policy_file import LeadbotConfig
from bot.reference import DOC, _model_rows, render


def test_the_configuration_reference_matches_the_code():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date: run `python -m bot.reference --write`"
    )


def test_every_setting_and_every_yaml_key_has_a_description():
    missing = [f"env {name}" for name, f in Settings.model_fields.items() if not f.description]
    missing += [f"yaml {path}" for path, f in _model_rows(LeadbotConfig, "") if not f.description]
    assert missing == [], "write a docstring under each of these fields"
