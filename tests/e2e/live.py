"""A live setup for end-to-end fault tests: real `leadbot serve` processes against the sandbox's
fake Slack (in this event loop), leads over the intake API, and partner reps pressing Accept
through signed Slack requests, as the platform sends them.

The processes log to files (a pipe could fill up and block them); `Serve.log()` reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.bootstrap import build
from bot.config import Settings
from bot.demo.hands import SlackHand
from bot.sandbox.serving import free_port
from bot.sandbox.slack import FakeSlack, buttons
from bot.store.migrate import migrate

SECRET = "live-signing-secret-0123456789abcdef"


def document(partners: int, **policy: Any) -> dict[str, Any]:
    """`partners` partners on Slack, each with one rep, all covering DE:8…."""
    return {
        "policy": {"offer_timeout": "30m", "max_rounds": 3, "reminder_before": "0s", **policy},
        "managers": {"slack_channel": "C0MANAGERS", "members": [{"name": "Ada", "slack": "U0ADA"}]},
        "partners": [
            {
                "slug": f"p{i:03d}",
                "name": f"Partner {i}",
                "territories": ["DE:8"],
                "capacity": 1_000_000,
                "slack_channel": f"C0P{i:03d}",
                "members": [{"name": f"Rep {i}", "slack": f"U0P{i:03d}", "role": "partner_rep"}],
            }
            for i in range(partners)
        ],
    }


async def prepare(url: str, tmp: Path, doc: dict[str, Any]) -> tuple[Path, str]:
    """Migrate, write leadbot.yaml (serve applies it), make an API key: (yaml path, key)."""
    path = tmp / "leadbot.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    services = build(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    try:
        await migrate(services.engine)
        async with services.uow() as uow:
            key = await uow.apikeys.create(f"live-{time.time_ns()}", now=services.ctx.now())
            await uow.commit()
    finally:
        await services.close()
    return path, key


@dataclass
class Serve:
    """One `leadbot serve` process."""

    proc: subprocess.Popen[bytes]
    port: int
    logfile: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.logfile.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """kill -9."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    async def stop(self, within: float = 30) -> int:
        """Ctrl-C, and wait for it to finish (its exit code)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return await asyncio.to_thread(self.proc.wait, within)


async def start(tmp: Path, name: str, env: dict[str, str], *, within: float = 60) -> Serve:
    """Start `python -m bot serve`; returns once /healthz answers 200."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    environ.update(LEADBOT_PORT=str(port), **env)
    logfile = tmp / f"{name}.log"
    with logfile.open("ab") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 -- returns at once; the process runs on
            [sys.executable, "-m", "bot", "serve"], cwd=tmp, env=environ, stdout=out, stderr=out
        )
    serve = Serve(proc, port, logfile)
    async with httpx.AsyncClient(timeout=1) as client:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if (await client.get(f"{serve.url}/healthz")).status_code == 200:
                    return serve
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)  # polling a starting process, bounded by the deadline
    proc.kill()
    raise AssertionError(f"serve did not become healthy:\n{serve.log()[-5000:]}")


def slack_env(url: str, config: Path, fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "LEADBOT_CONFIG": str(config),
        "LEADBOT_SWEEP_INTERVAL": "1",
        "LEADBOT_API_RATE": "100000",
        "LEADBOT_API_BURST": "100000",
        "SLACK_BOT_TOKEN": "xoxb-live",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{fake.url}/api/",
        **extra,
    }


@dataclass
class Intake:
    """Leads over the intake API; what each request was answered."""

    key: str
    answers: list[tuple[str, int]] = field(default_factory=list)  # (external id, status)
    ids: dict[str, str] = field(default_factory=dict)  # external id -> public id, once 2xx
    errors: list[str] = field(default_factory=list)  # transport errors (no answer at all)
    bodies: list[dict[str, Any]] = field(default_factory=list)  # the non-2xx answers

    async def one(self, client: httpx.AsyncClient, external_id: str) -> int | None:
        body = {
            "source": "live",
            "external_id": external_id,
            "country": "DE",
            "postcode": "80331",
            "contact": {"name": "Max", "email": "max@example.com"},
        }
        headers = {"Authorization": f"Bearer {self.key}"}
        try:
            response = await client.post("/api/v1/leads", json=body, headers=headers)
        except httpx.TransportError as exc:
            self.errors.append(f"{external_id}: {exc!r}")
            return None
        self.answers.append((external_id, response.status_code))
        if response.status_code in (200, 201):
            self.ids[external_id] = response.json()["id"]
        else:
            self.bodies.append({"status": response.status_code, "headers": dict(response.headers),
                                "body": response.text})  # fmt: skip
        return response.status_code

    async def paced(self, client: httpx.AsyncClient, rate: float, stop: asyncio.Event,
                    prefix: str = "lead") -> None:  # fmt: skip
        """POST leads at `rate` per second until `stop` is set."""
        tasks: list[asyncio.Task[int | None]] = []
        started, n = time.monotonic(), 0
        while not stop.is_set():
            tasks.append(asyncio.create_task(self.one(client, f"{prefix}-{n}")))
            n += 1
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        await asyncio.gather(*tasks)


class Presser:
    """Reps who see each new card in their channel at the fake Slack and press Accept on some
    (a few twice at once: a double tap), through signed requests to a serve process."""

    def __init__(self, fake: FakeSlack, client: httpx.AsyncClient) -> None:
        self.fake, self.hand = fake, SlackHand(client, SECRET, fake.url)
        self._read: dict[str, int] = {}  # channel -> messages seen
        self.pressed: list[int] = []  # offer ids, once per tap

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            fresh = []
            for channel, messages in list(self.fake.history.items()):
                start, self._read[channel] = self._read.get(channel, 0), len(messages)
                fresh += [(channel, m) for m in messages[start:] if channel.startswith("C0P")]
            await asyncio.gather(*(self._answer(ch, m) for ch, m in fresh))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)

    async def _answer(self, channel: str, message: dict[str, Any]) -> None:
        value = buttons(message).get("Accept")
        if value is None:
            return
        offer = int(value.split(":")[1])
        taps = 2 if offer % 5 == 0 else 1 if offer % 3 else 0  # a few double taps, some ignored
        user = "U" + channel.removeprefix("C")
        for _ in range(taps):
            self.pressed.append(offer)
        await asyncio.gather(
            *(
                self.hand.press(
                    user, "Rep", value=value, label="Accept", channel=channel, ts=message["ts"]
                )  # fmt: skip
                for _ in range(taps)
            ),
            return_exceptions=True,  # a press into a dead process: no answer
        )
