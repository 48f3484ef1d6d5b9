"""`leadbot demo`: Leadbot as `leadbot serve` runs it, against the SANDBOX chat APIs.

The real HTTP server, Slack adapter (Bolt, SlackMessenger), Telegram adapter (PTB,
TelegramMessenger), outbox sender, timers and routing run on a temporary SQLite database. The
Slack Web API and the Telegram Bot API are local stand-ins on loopback; simulated partner reps
read the cards there and press the real buttons through signed requests and updates.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.bootstrap import Services, build
from bot.config import Settings
from bot.demo.board import Board
from bot.demo.hands import SlackHand, TelegramHand
from bot.demo.people import Cast, SimulatedPeople
from bot.demo.samples import sample_leads
from bot.demo.stage import WatchedSlack, WatchedTelegram
from bot.domain.durations import parse_duration
from bot.domain.leads import DispatchStatus, NewLead
from bot.messaging import Pace
from bot.policy_file import validate_document
from bot.sandbox.serving import free_port, serve_app
from bot.store.migrate import migrate

# shipped in the package, so the demo runs from any install; examples/leadbot.yaml links here
SAMPLE_CONFIG = Path(__file__).with_name("leadbot.yaml")
SETTLED = (DispatchStatus.ACCEPTED, DispatchStatus.CLOSED, DispatchStatus.UNASSIGNED)
# the sandbox has no rate limits of its own: Leadbot still paces every chat, at a tenth of
# Slack's and Telegram's real limits, so a demo takes minutes rather than a quarter of an hour
SANDBOX_PACE = Pace(per_chat=0.1, per_group=0.3, overall=1 / 300)
SCALED = ("offer_timeout", "reminder_before", "stale_after")  # policy durations --speed divides


@dataclass
class Show:
    """Everything running for one demo: the sandbox, Leadbot, the people and their hands."""

    board: Board
    slack: WatchedSlack
    telegram: WatchedTelegram
    services: Services
    port: int
    people: SimulatedPeople
    api_key: str
    document: dict[str, Any]
    client: httpx.AsyncClient
    lead_ids: list[int] = field(default_factory=list)
    stops: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def compressed(document: dict[str, Any], speed: float) -> dict[str, Any]:
    """The policy with its windows divided by `speed` (30m at 600x: 3 s)."""
    policy = dict(document.get("policy") or {})
    for key in SCALED:
        if key in policy:
            seconds = parse_duration(str(policy[key])).total_seconds() / speed
            policy[key] = f"{max(seconds, 0.05):.3f}s"
    return {**document, "policy": policy}


def sandbox_settings(
    db: Path, slack: WatchedSlack, telegram: WatchedTelegram, port: int, window: float
) -> tuple[Settings, str, str]:
    """Settings pointing Leadbot at the sandbox, never at a real platform (`.env` is ignored)."""
    slack_secret, telegram_secret = secrets.token_hex(16), secrets.token_hex(16)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db}",
        leadbot_config=SAMPLE_CONFIG,
        leadbot_port=port,
        leadbot_sweep_interval=max(0.5, window / 2),
        leadbot_api_rate=1000,
        leadbot_api_burst=1000,
        slack_bot_token="xoxb-sandbox",
        slack_signing_secret=slack_secret,
        slack_app_token=None,
        slack_client_id=None,
        slack_client_secret=None,
        slack_api_url=f"{slack.url}/api/",
        telegram_bot_token="123456:SANDBOX",
        telegram_api_url=f"{telegram.url}/bot",
        telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
        telegram_webhook_secret=telegram_secret,
        telegram_bot_username="leadbot_sandbox_bot",
    )
    return settings, slack_secret, telegram_secret


async def open_show(tmp: Path, *, seed: int, speed: float, port: int | None) -> Show:
    """Start the sandbox and Leadbot against it; the caller closes it with `close_show`."""
    board = Board()
    slack, telegram = WatchedSlack(board=board), WatchedTelegram(board=board)
    await slack.start()
    await telegram.start()
    document = compressed(yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8")), speed)
    window = parse_duration(document["policy"]["offer_timeout"]).total_seconds()
    port = port or free_port()
    settings, slack_secret, telegram_secret = sandbox_settings(
        tmp / "demo.db", slack, telegram, port, window
    )
    services = build(settings, poll_interval=0.2)
    for messenger in services.messengers.values():
        messenger.pace = SANDBOX_PACE
    await migrate(services.engine)
    config = validate_document(document, filename=str(SAMPLE_CONFIG))
    now = services.ctx.now()
    async with services.uow() as uow:
        await uow.config.apply(config, document, source_file=str(SAMPLE_CONFIG), now=now)
        api_key = await uow.apikeys.create("demo", now=now)
        await uow.commit()
    await services.start()
    from bot.handlers.http import create_app

    app = create_app(services)
    for start in services.starters:  # Telegram's setWebhook and command menus, to the sandbox
        await start()
    port, stop_http = await serve_app(app, port=port)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    people = SimulatedPeople(
        board,
        Cast.from_document(document),
        SlackHand(client, slack_secret, slack.url),
        TelegramHand(client, telegram_secret),
        seed=seed,
        window=window,
        decline_reasons=list(config.policy.decline_reasons),
    )
    show = Show(board, slack, telegram, services, port, people, api_key, document, client)
    show.stops += [client.aclose, stop_http, services.close, slack.stop, telegram.stop]
    return show


async def close_show(show: Show) -> None:
    for task in list(show.people.tasks):
        task.cancel()
    await asyncio.gather(*show.people.tasks, return_exceptions=True)
    for stop in show.stops:
        await stop()


async def feed(show: Show, count: int, rng: random.Random) -> None:
    """Submit `count` sample leads through the intake API, as a web form's backend would."""
    headers = {"Authorization": f"Bearer {show.api_key}"}
    for new in sample_leads(count, rng):
        body = as_json(new)
        response = await show.client.post("/api/v1/leads", json=body, headers=headers)
        response.raise_for_status()
        answer = response.json()
        show.people.refs[answer["id"]] = new.external_id or answer["id"]
        async with show.services.uow() as uow:
            lead = await uow.leads.get_by_public_id(answer["id"])
        assert lead is not None
        show.lead_ids.append(lead.id)
        await asyncio.sleep(rng.uniform(0.2, 0.6))  # leads trickle in, as they do


async def settled(show: Show) -> int:
    """How many of the fed leads have reached a resting state (the people done with them)."""
    async with show.services.uow() as uow:
        statuses = [await uow.leads.get(i) for i in show.lead_ids]
        pending = await uow.outbox.count(status="pending")
    done = sum(lead is not None and lead.status in SETTLED for lead in statuses)
    if pending or show.people.tasks:
        return min(done, len(show.lead_ids) - 1)
    return done


async def until_settled(show: Show, on_progress: Callable[[int], None], max_seconds: float) -> None:
    deadline = time.monotonic() + max_seconds
    while (done := await settled(show)) < len(show.lead_ids):
        on_progress(done)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo did not settle within {max_seconds:.0f}s")
        await asyncio.sleep(0.1)  # the demo's heartbeat: the leads move on their own timers
    on_progress(done)


def as_json(new: NewLead) -> dict[str, Any]:
    """The lead as an intake API body."""
    body = {k: v for k, v in dataclasses.asdict(new).items() if v not in (None, (), "")}
    body["specialties"] = list(new.specialties)
    body["contact"] = {k: v for k, v in body.get("contact", {}).items() if v}
    return body


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="leadbot-demo-")
