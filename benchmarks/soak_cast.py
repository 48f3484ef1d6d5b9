"""The soak's cast: partners and chats, the serve processes' settings, the reps (the demo's
simulated people, answering offers only) and a load balancer in front of the instances."""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.demo.board import ChatEvent
from bot.demo.people import Person, SimulatedPeople
from bot.sandbox.slack import FakeSlack
from bot.sandbox.telegram import FakeTelegram

SLACK_PARTNERS, TELEGRAM_PARTNERS = 250, 80  # enough chats for their pace at 50 leads/s
SIGNING_SECRET, WEBHOOK_SECRET = "soak-signing-secret", "soak-webhook-secret"


SLACK_REGIONS, TELEGRAM_REGIONS = range(60, 85), range(10, 18)  # DE postcode prefixes


def layout(window: float) -> dict[str, Any]:
    """Ten partners to each postcode region: 25 regions on Slack, 8 on Telegram (one lead in
    ten). Each chat gets well under its platform's pace (Slack ~1 message/s per channel,
    Telegram 20 a minute per group), and routing decisions in different regions never wait
    for each other (a decision locks its candidates' rotation rows)."""
    partners = [
        _partner(f"s{i:03d}", f"DE:{SLACK_REGIONS[i % len(SLACK_REGIONS)]}",
                 slack_channel=f"C0S{i:03d}", slack=f"U0S{i:03d}")
        for i in range(SLACK_PARTNERS)
    ] + [
        _partner(f"t{i:03d}", f"DE:{TELEGRAM_REGIONS[i % len(TELEGRAM_REGIONS)]}",
                 telegram_chat=-1002000000000 - i, telegram=50000 + i)
        for i in range(TELEGRAM_PARTNERS)
    ]  # fmt: skip
    return {
        "policy": {
            "offer_timeout": f"{window:g}s",
            "max_rounds": 3,
            "reminder_before": "0s",
            "escalation_repeats": 0,
            "stale_after": "30d",
            "decline_reasons": ["not_a_fit", "no_capacity"],
        },
        "managers": {"slack_channel": "C0MANAGERS", "members": [{"name": "Ada", "slack": "U0ADA"}]},
        "partners": partners,
    }


def postcode(n: int) -> str:
    """The n-th lead's postcode: one in ten in a Telegram region, the rest on Slack."""
    if n % 10 == 0:
        return f"{TELEGRAM_REGIONS[n // 10 % len(TELEGRAM_REGIONS)]}{n % 1000:03d}"
    return f"{SLACK_REGIONS[n % len(SLACK_REGIONS)]}{n % 1000:03d}"


def _partner(slug: str, territory: str, **where: Any) -> dict[str, Any]:
    chat = {k: v for k, v in where.items() if k in ("slack_channel", "telegram_chat")}
    member = {k: v for k, v in where.items() if k in ("slack", "telegram")}
    return {
        "slug": slug,
        "name": f"Partner {slug}",
        "territories": [territory],
        "capacity": 10**9,
        **chat,
        "members": [{"name": f"Rep {slug}", "role": "partner_rep", **member}],
    }


def serve_env(
    url: str, config: Path, slack: FakeSlack, telegram: FakeTelegram, name: str
) -> dict[str, str]:
    """`leadbot serve` as one would run several: Slack HTTP mode, Telegram webhook mode."""
    return {
        "DATABASE_URL": url,
        "LEADBOT_CONFIG": str(config),
        "LEADBOT_SWEEP_INTERVAL": "5",
        "LEADBOT_API_RATE": "100000",
        "LEADBOT_API_BURST": "100000",
        "LEADBOT_LOG_LEVEL": "WARNING",
        "SLACK_BOT_TOKEN": "xoxb-soak",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
        "TELEGRAM_BOT_TOKEN": "123456:SOAK",
        "TELEGRAM_API_URL": f"{telegram.url}/bot",
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1/telegram/webhook/{name}",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@dataclass(frozen=True)
class Answer:
    status_code: int
    text: str


class Client:
    """The driver's HTTP client, on aiohttp: httpx took half of the driver's CPU (and its
    connection pool grows quadratically slower once requests queue), so on a small machine the
    driver, not Leadbot, set the pace. Answers what the demo's hands read (`status_code`)."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        self.base_url, self.timeout = base_url, timeout
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if self._session is None:  # made inside the running loop
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=200),
            )
        data = jsonlib.dumps(json) if json is not None else content
        sent = dict(headers or {})
        if json is not None:
            sent["Content-Type"] = "application/json"
        async with self._session.post(self.base_url + path, data=data, headers=sent) as answer:
            return Answer(answer.status, await answer.text())

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


NO_ANSWER = (aiohttp.ClientError, TimeoutError)  # refused, reset, timed out


class Balancer:
    """Requests to the instances in turn, as a load balancer would; every answer counted."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients, self.turn = clients, 0
        self.statuses: Counter[int] = Counter()
        self.refused: list[str] = []  # what the answers other than 200 said

    async def post(self, url: str, **kwargs: Any) -> Answer:
        client = self.clients[self.turn % len(self.clients)]
        self.turn += 1
        try:
            response = await client.post(url, **kwargs)
        except NO_ANSWER:
            self.statuses[0] += 1  # no answer at all
            raise
        self.statuses[response.status_code] += 1
        if response.status_code != 200:
            self.refused.append(f"{url} {response.status_code} {response.text[:200]}")
        return response


class Answerers(SimulatedPeople):
    """The demo's reps, answering offer cards only (no funnel work), at the soak's odds."""

    ODDS = (0.8, 0.1)  # accept, decline; the rest let the window run out

    def on_event(self, event: ChatEvent) -> None:
        if event.kind == "post" and event.is_offer:
            super().on_event(event)

    async def _answer(self, card: ChatEvent, person: Person) -> None:
        rng = self._rng(self.lead_of(card), person.partner, "answer")
        roll, (accept, decline) = rng.random(), self.ODDS
        if roll >= accept + decline:
            return
        await asyncio.sleep(rng.uniform(0.1, 0.5) * self.window)  # reading it on the phone
        if roll < accept:
            await self._press(person, card, "Accept")
        else:
            await self._press(person, card, "Decline", answer=rng.choice(self.decline_reasons))


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system), in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)
