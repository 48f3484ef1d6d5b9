"""`leadbot serve` as a real process, polling a fake Telegram (run in a thread of the test):
polling starts with serve (deleteWebhook first), handles a command, and stops with it,
confirming what it handled."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.sandbox.telegram import FakeTelegram
from tests.e2e.serving import start_serve, stop
from tests.handlers.tg_payloads import ADA, MANAGERS, text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leadbot.yaml"
T = TypeVar("T")


class FakeInAThread:
    """The fake Bot API in its own event loop, so a blocking test can drive a subprocess."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def make() -> FakeTelegram:
            fake = FakeTelegram()
            await fake.start()
            return fake

        self.fake = self.run(make())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def telegram() -> Iterator[FakeInAThread]:
    fake = FakeInAThread()
    yield fake
    fake.close()


def test_serve_polls_telegram_and_stops_cleanly(telegram, database_url, tmp_path):
    fake = telegram.fake
    proc, _port = start_serve(
        tmp_path,
        DATABASE_URL=database_url,
        LEADBOT_CONFIG=str(EXAMPLE),
        TELEGRAM_BOT_TOKEN="123456:AAHk3vQx9Rt2LmN8pWz4Yc7Bd1Fg6Js0Ke5",
        TELEGRAM_API_URL=f"{fake.url}/bot",
    )
    try:
        update_id = telegram.run(fake.push(text(ADA, "Ada", MANAGERS, "/help")))

        async def handled() -> None:
            async with asyncio.timeout(20):
                await fake.handled(update_id)

        telegram.run(handled(), timeout=30)
        # the reply; the daily digest may land in the same chat around then
        assert any("What you can run" in m["text"] for m in fake.sent_to(MANAGERS))
    finally:
        output = stop(proc)
    assert proc.returncode == 0, output
    assert "Telegram: on (long polling" in output
    methods = [m for m, _ in fake.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    last = fake.called("getUpdates")[-1]  # on the way out: what was handled is confirmed
    assert int(last["offset"]) == update_id + 1 and int(last["timeout"]) == 0
