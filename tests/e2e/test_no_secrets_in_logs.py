"""Nothing personal and no secret in the logs, at LEADBOT_LOG_LEVEL=DEBUG: a real `leadbot serve`
(and the CLI) with Slack and Telegram on, against the sandbox fakes. Leads come in over the
intake API, their cards go out through the real messengers, Bob accepts one in Slack and
Carla one in Telegram, both move their leads on, the CLI erases a person; then every line
those processes logged is searched for the leads' names, e-mails, phones and streets, the
bot tokens, the signing and webhook secrets and the API key."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from bot.sandbox.slack import FakeSlack, blocks_text, buttons, form, sign
from bot.sandbox.telegram import FakeTelegram, keyboard
from tests.e2e.serving import start_serve, stop
from tests.factories import config, partner
from tests.handlers.test_slack import press_body
from tests.handlers.tg_payloads import BETA, press

T = TypeVar("T")
FRIEDRICH = {
    "name": "Friedrich Vertraulich",
    "email": "friedrich.vertraulich@example.net",
    "phone": "+49 89 9081726",
    "company": "Vertraulichbau GmbH",
    "street": "Geheimgasse 7",
}
GISELA = {"name": "Gisela Privatmann", "email": "gisela.privat@example.org", "phone": "030 6172839"}
WRONG = "lb_" + secrets.token_urlsafe(24)  # an API key someone guessed
SECRET_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-2481632641-1020304050607-" + secrets.token_hex(12),
    "SLACK_SIGNING_SECRET": secrets.token_hex(16),
    "TELEGRAM_BOT_TOKEN": "7315591852:AA" + secrets.token_urlsafe(24),
    "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
    "CRM_WEBHOOK_SECRET": secrets.token_hex(20),
}


class Fakes:
    """The fake Slack and Telegram in an event loop of their own, beside the blocking test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.slack, self.telegram = FakeSlack(), FakeTelegram()
        self.run(self.slack.start())
        self.run(self.telegram.start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def close(self) -> None:
        self.run(self.slack.stop())
        self.run(self.telegram.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    running = Fakes()
    yield running
    running.close()


def until(found: Callable[[], T], what: str, timeout: float = 20) -> T:
    """Poll what the fakes recorded until `found` gives something (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.05)  # the fakes record in their own thread; this only polls them
    raise AssertionError(f"timed out waiting for {what}")


def cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def leaks(text: str, *keys: str) -> list[str]:
    """Every personal value or secret of this test (and the API `keys`) found in `text`."""
    values = [*FRIEDRICH.values(), *GISELA.values(), *SECRET_ENV.values(), *keys]
    values += [re.sub(r"\D", "", p) for p in (FRIEDRICH["phone"], GISELA["phone"])]
    values += ["Vertraulich", "Privatmann", "Geheimgasse"]
    return [v for v in values if v.lower() in text.lower()]


def test_a_whole_day_at_debug_logs_no_personal_data_and_no_secret(fakes, database_url, tmp_path):
    acme = partner("acme", slack_channel="C0ACME")
    acme["members"] = [{"name": "Bob", "slack": "U0BOB", "role": "partner_admin"}]
    beta = partner("beta", slack_channel=None, telegram_chat=BETA, territories=["DE:10"])
    beta["members"] = [{"name": "Carla", "telegram": 3003, "role": "partner_rep"}]
    doc = config([acme, beta])
    doc["webhooks"] = [  # a CRM that is down: its retries get logged
        {"url": "http://127.0.0.1:9/hooks", "secret_env": "CRM_WEBHOOK_SECRET",
         "events": ["lead.created", "offer.accepted", "lead.stage_changed"]}
    ]  # fmt: skip
    (tmp_path / "leadbot.yaml").write_text(yaml.safe_dump(doc))
    env = {
        "DATABASE_URL": database_url,
        "LEADBOT_CONFIG": str(tmp_path / "leadbot.yaml"),
        "LEADBOT_LOG_LEVEL": "DEBUG",
        "LEADBOT_SWEEP_INTERVAL": "1",
        "SLACK_API_URL": f"{fakes.slack.url}/api/",
        "TELEGRAM_API_URL": f"{fakes.telegram.url}/bot",
        "TELEGRAM_WEBHOOK_URL": "https://leads.example.com/telegram/webhook",
        **SECRET_ENV,
    }
    made = cli(tmp_path, env, "apikey", "create", "website")
    assert made.returncode == 0, made.stderr
    key = made.stdout.split()[-1]  # printed once, on purpose: that is the command's answer
    logged = [made.stderr]
    proc, port = start_serve(tmp_path, **env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            refused = http.post(
                "/api/v1/leads", json={}, headers={"Authorization": f"Bearer {WRONG}"}
            )
            assert refused.status_code == 401  # a key that is not ours is not logged either
            work_the_leads(fakes, http, key)
            erased = cli(tmp_path, env, "erase", "--email", FRIEDRICH["email"].upper())
            assert erased.returncode == 0, erased.stderr
            assert "erased the contact of 1 lead(s)" in erased.stdout
            assert "DEBUG bot.dispatch.erasure: erase: lead" in erased.stderr  # DEBUG was on
            logged += [erased.stdout, erased.stderr]
            until(
                lambda: any(
                    "contact erased on request" in blocks_text(u)
                    for u in fakes.slack.called("chat.update")
                ),
                "Bob's card redrawn without Friedrich",
            )
    finally:
        logged.append(stop(proc))
    everything = "\n".join(logged)
    assert "DEBUG bot." in everything and "listening on" in everything
    assert leaks(everything, key, WRONG) == []


def work_the_leads(fakes: Fakes, http: httpx.Client, key: str) -> None:
    """Two leads over the API; Bob takes one in Slack, Carla the other in Telegram."""
    auth = {"Authorization": f"Bearer {key}"}
    for n, (postcode, contact) in enumerate((("80331", FRIEDRICH), ("10115", GISELA))):
        body = {"source": "web", "external_id": f"form-{n}", "country": "DE",
                "postcode": postcode, "specialties": ["heat-pump"], "contact": contact,
                "need": "A heat pump for the family house"}  # fmt: skip
        assert http.post("/api/v1/leads", json=body, headers=auth).status_code == 201
    slack, telegram = fakes.slack, fakes.telegram

    # Slack: Bob accepts, sees Friedrich on the card, marks him contacted
    (card,) = until(lambda: slack.posts_to("C0ACME"), "the card in ACME's channel")
    ts = "1700000000.000100"

    def press_slack(value: str) -> None:
        text = form(press_body(slack, "U0BOB", value, "C0ACME", ts))
        assert http.post("/slack/events", content=text, headers=sign(
            SECRET_ENV["SLACK_SIGNING_SECRET"], text)).status_code == 200  # fmt: skip

    press_slack(buttons(card)["Accept"])
    mine = until(
        lambda: [u for u in slack.called("chat.update") if "Vertraulich" in blocks_text(u)],
        "Bob's card with the contact",
    )[-1]
    press_slack(buttons(mine)["Contacted"])
    until(
        lambda: any("contacted" in blocks_text(u) for u in slack.called("chat.update")),
        "the card at 'contacted'",
    )

    # Telegram: Carla accepts and marks Gisela contacted
    (sent,) = until(lambda: telegram.sent_to(BETA), "the card in Beta's group")
    secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET_ENV["TELEGRAM_WEBHOOK_SECRET"]}

    def press_telegram(data: str, n: int) -> None:
        update = {**press(3003, "Carla", data, BETA, int(sent["message_id"])), "update_id": n}
        reply = http.post("/telegram/webhook", content=json.dumps(update), headers=secret)
        assert reply.status_code == 200

    press_telegram(keyboard(sent)["Accept"], 1)
    edited = until(
        lambda: [e for e in telegram.called("editMessageText") if "Gisela" in str(e["text"])],
        "Carla's card with the contact",
    )[-1]
    press_telegram(keyboard(edited)["Contacted"], 2)
    until(
        lambda: any("contacted" in str(e["text"]) for e in telegram.called("editMessageText")),
        "Carla's card at 'contacted'",
    )
    lead = http.get("/api/v1/leads", headers=auth).json()["leads"][0]["id"]
    assert http.get(f"/api/v1/leads/{lead}", headers=auth).json()["contact"]["name"]
