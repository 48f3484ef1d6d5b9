"""`leadbot partners invite SLUG --slack`, run as an operator would: the link, or a clear error
and nothing stored."""

from __future__ import annotations

import asyncio
import urllib.parse

import pytest

from bot.store.db import create_engine
from bot.store.installs import InstallRepo
from bot.store.slack_tables import slack_install_invites
from tests.e2e.test_cli import EXAMPLE, count, invoke

OAUTH = {
    "SLACK_BOT_TOKEN": "xoxb-cli",
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "client-secret",
    "LEADBOT_PUBLIC_URL": "https://leads.example.com/",
}


@pytest.fixture
def env(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env or leadbot.yaml
    for name in (*OAUTH, "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    return database_url


def invite_is_valid(url: str, token: str) -> bool:
    async def go() -> bool:
        from datetime import UTC, datetime

        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await InstallRepo(conn).find_invite(token, now=datetime.now(UTC)) is not None
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_partners_invite_prints_an_install_link_bound_to_the_partner(env, monkeypatch):
    for name, value in OAUTH.items():
        monkeypatch.setenv(name, value)
    result = invoke("partners", "invite", "acme-heating", "--slack")
    assert result.exit_code == 0, result.output
    link = next(w for w in result.output.split() if w.startswith("https://"))
    parts = urllib.parse.urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://leads.example.com/slack/install"
    )
    token = dict(urllib.parse.parse_qsl(parts.query))["invite"]
    assert invite_is_valid(env, token) and "works once, for 7 days" in result.output


def test_partners_invite_says_what_is_missing_and_stores_nothing(env, monkeypatch):
    bare = invoke("partners", "invite", "acme-heating", "--slack")
    assert bare.exit_code == 1 and "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in bare.output
    for name, value in OAUTH.items():
        monkeypatch.setenv(name, value)
    platform = invoke("partners", "invite", "acme-heating")
    assert platform.exit_code == 1 and "--slack" in platform.output
    ghost = invoke("partners", "invite", "ghost", "--slack")
    assert ghost.exit_code == 1 and "There is no partner 'ghost'" in ghost.output
    monkeypatch.delenv("LEADBOT_PUBLIC_URL")
    nowhere = invoke("partners", "invite", "acme-heating", "--slack")
    assert nowhere.exit_code == 1 and "LEADBOT_PUBLIC_URL" in nowhere.output
    assert count(env, slack_install_invites) == 0
