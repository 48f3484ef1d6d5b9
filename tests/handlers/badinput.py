"""Shared by the malformed-payload tests: wait until the bot has finished with a request, watch
the logs for errors, and say what a request changed."""

from __future__ import annotations

import asyncio
import logging

from bot.bootstrap import Services
from tests.handlers.dbstate import changed, snapshot

LOGGERS = ("", "uvicorn.error")  # uvicorn's own does not propagate: "Exception in ASGI app"
BOLT_WORK = "run_ack_function_asynchronously"  # Bolt runs a listener in this task after ack()


async def settled() -> None:
    """Until no Bolt listener is still at work in this loop (bounded): Bolt answers Slack
    first and works after, so "nothing happened" can only be said once it is done."""
    working = [
        t
        for t in asyncio.all_tasks()
        if BOLT_WORK in getattr(t.get_coro(), "__qualname__", "") and not t.done()
    ]
    if working:
        _done, late = await asyncio.wait(working, timeout=10)
        assert not late, f"{len(late)} Slack listeners still at work after 10 s"


class Errors(logging.Handler):
    """Every record at ERROR or above, and every record carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("aiohttp."):  # the fake chat APIs' own server, not Leadbot
            return
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def __enter__(self) -> Errors:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(min(root.level, logging.WARNING))
        for name in LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(self)
        logging.getLogger().setLevel(self._level)

    def said(self) -> list[str]:
        """The records, with the last line of each traceback."""
        out = []
        for r in self.records:
            out.append(f"{r.levelname} {r.name}: {r.getMessage()[:300]}")
            if r.exc_info:
                out.append(repr(r.exc_info[1])[:300])
        return out


async def effects(services: Services, before: dict) -> dict:
    """What changed in the database since `before` (a snapshot)."""
    return changed(before, await snapshot(services))
