"""The far side of B2: the web forms posting leads and the chat API receiving cards, in a
process of their own, as they are in production (another machine, never Leadbot's event loop).

`python -m benchmarks.far_side` starts a fake chat API (`chat.postMessage`, and `/` for the bare
pipeline) on a loopback port, prints `{"sink": url}`, then takes one JSON command a line on
stdin and answers one JSON line on stdout:

- `{"run": "leadbot" | "bare", "url": ..., "key": ..., "count": n, "rate": r}`: POST `count`
  leads at `rate` a second, each timed from just before its POST until its card (or the bare
  pipeline's request) arrives here: `{"latencies": [seconds, ...]}`;
- `{"run": "sustain", "url": ..., "key": ..., "seconds": s, "workers": w}`: `w` clients POST
  leads back to back for `s` seconds (to the bare pipeline when there is no key):
  `{"posted": n, "arrived": m}`, `m` counting the cards that arrived within those seconds (B3);
- `{"seen": true}`: how many have arrived so far, `{"seen": n}`.

Both processes read the same monotonic clock (`time.perf_counter`, CLOCK_MONOTONIC on Linux).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from aiohttp import web

from bot.sandbox.serving import serve_aiohttp


class Sink:
    """A loopback HTTP server standing in for the chat API: notes when each message arrives."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.url = ""
        self._n = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def arrive(request: web.Request) -> web.Response:
            self.seen.setdefault((await request.json())["id"], time.perf_counter())
            return web.json_response({"ok": True})

        async def post_message(request: web.Request) -> web.Response:
            """A fake `chat.postMessage`: the card's text starts 'New lead L… for …'."""
            body = await request.json()
            self.seen.setdefault(str(body["text"]).split()[2], time.perf_counter())
            self._n += 1
            return web.json_response({"ok": True, "channel": body["channel"], "ts": f"1.{self._n}"})

        app = web.Application()
        app.router.add_post("/", arrive)
        app.router.add_post("/api/chat.postMessage", post_message)
        self.url, self._runner = await serve_aiohttp(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def paced(count: int, rate: float, one: Any) -> list[float]:
    """Fire `count` requests at `rate` per second; each returns its latency (or None)."""
    tasks, start = [], time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    return [r for r in await asyncio.gather(*tasks) if r is not None]


async def _arrival(sink: Sink, ref: str, t0: float) -> float | None:
    for _ in range(3000):
        if ref in sink.seen:
            return sink.seen[ref] - t0
        await asyncio.sleep(0.001)
    return None


_clients: dict[tuple[str, str], httpx.AsyncClient] = {}


def client_for(url: str, key: str = "") -> httpx.AsyncClient:
    """One client per server for the whole process: its connections stay open from one run to
    the next (runs alternate), so no run's first lead pays for a new connection."""
    if (url, key) not in _clients:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        _clients[url, key] = httpx.AsyncClient(base_url=url, timeout=30, headers=headers)
    return _clients[url, key]


async def leadbot_leads(sink: Sink, url: str, key: str, count: int, rate: float) -> list[float]:
    """Leads to Leadbot's API; each timed until its card arrives."""
    client = client_for(url, key)

    async def one(i: int) -> float | None:
        t0 = time.perf_counter()
        body = {
            "source": "bench",
            "external_id": f"b2-{i}-{t0}",
            "country": "DE",
            "postcode": "80331",
            "specialties": [],
        }
        ref = (await client.post("/api/v1/leads", json=body)).json()["id"]
        return await _arrival(sink, ref, t0)

    return await paced(count, rate, one)


async def bare_leads(sink: Sink, url: str, count: int, rate: float) -> list[float]:
    """The same to the bare pipeline; each timed until its one request out arrives."""
    client = client_for(url)

    async def one(i: int) -> float | None:
        t0, ref = time.perf_counter(), f"bare-{i}-{time.perf_counter()}"
        await client.post("/in", json={"id": ref, "country": "DE", "postcode": "80331"})
        return await _arrival(sink, ref, t0)

    return await paced(count, rate, one)


async def sustain(
    sink: Sink, url: str, key: str | None, seconds: float, workers: int
) -> dict[str, int]:
    """`workers` clients posting leads back to back (to Leadbot's API, or to the bare
    pipeline when there is no `key`); the cards that arrived within `seconds`."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    path = "/api/v1/leads" if key else "/in"
    before, posted = len(sink.seen), 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=workers)
    async with httpx.AsyncClient(
        base_url=url, timeout=30, headers=headers, limits=limits
    ) as client:

        async def worker(w: int) -> None:
            nonlocal posted
            n = 0
            while time.perf_counter() < stop:
                ref = f"{w}-{n}-{time.perf_counter()}"
                body = {"source": "b3", "external_id": ref} if key else {"id": ref}
                await client.post(path, json=body | {"country": "DE", "postcode": "80331"})
                n += 1
                posted += 1

        await asyncio.gather(*(worker(w) for w in range(workers)))
    arrived = sum(1 for t in list(sink.seen.values())[before:] if t <= stop)
    return {"posted": posted, "arrived": arrived}


async def serve() -> None:
    sink = Sink()
    await sink.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    answer({"sink": sink.url})
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if command.get("seen"):
                answer({"seen": len(sink.seen)})
            elif command.get("run") == "leadbot":
                url, key, count, rate = (command[k] for k in ("url", "key", "count", "rate"))
                answer({"latencies": await leadbot_leads(sink, url, key, count, rate)})
            elif command.get("run") == "sustain":
                url, seconds, workers = (command[k] for k in ("url", "seconds", "workers"))
                answer(await sustain(sink, url, command.get("key"), seconds, workers))
            elif command.get("run") == "bare":
                url, count, rate = (command[k] for k in ("url", "count", "rate"))
                answer({"latencies": await bare_leads(sink, url, count, rate)})
            else:
                answer({"error": f"unknown command {command!r}"})
    finally:
        for client in _clients.values():
            await client.aclose()
        await sink.stop()


class FarSide:
    """The far side as seen from the benchmark: a child process, one command at a time."""

    def __init__(self) -> None:
        self.sink = ""
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.far_side",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,  # one line holds every latency of a run
        )
        self.sink = (await self._read())["sink"]

    async def ask(self, **command: Any) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(command) + "\n").encode())
        await self._proc.stdin.drain()
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = await self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the far side exited ({await self._proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    async def stop(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
            await self._proc.wait()


if __name__ == "__main__":
    asyncio.run(serve())
