"""SQLite WAL checkpoints in the background, on a connection and a thread of their own.

A checkpoint copies the WAL's pages into the database file and syncs it: milliseconds, tens of
them on a busy disk. Run by the connection whose COMMIT made it due, it held up that commit's
caller: the one new lead in 64 or so whose card then waited for it. Here the COMMIT returns at
once and the checkpoint runs after it, on a thread of its own with a connection of its own.

It runs under the engine's in-process write lock, as a unit of work that writes would: no
writer of this process appends to the WAL meanwhile, so the checkpoint copies all of it and the
next writer starts the WAL from the beginning again (it stays small). A writer that wants the
lock meanwhile waits for it, as it waits for any other writer. One checkpoint of a database
at a time: one due while another is queued or running is skipped (that one copies the pages).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
_pending: dict[str, asyncio.Task[None]] = {}  # database -> its checkpoint, queued or running


class Lock(Protocol):
    async def acquire(self) -> None: ...

    def release(self) -> None: ...


def checkpoint_soon(location: str, *, uri: bool = False, lock: Lock | None = None) -> bool:
    """Start a PASSIVE checkpoint of the database at `location` (a path, or a URI with `uri`)
    once `lock` is free, without waiting for it; False when one is already queued or running
    for that database."""
    running = _pending.get(location)
    if running is not None and not running.done() and not running.get_loop().is_closed():
        return False
    task = _pending[location] = asyncio.get_running_loop().create_task(_run(location, uri, lock))

    def forget(done: asyncio.Task[None]) -> None:
        if _pending.get(location) is done:
            del _pending[location]

    task.add_done_callback(forget)
    return True


async def settle() -> None:
    """Wait for this event loop's checkpoints started so far (an engine about to close)."""
    loop = asyncio.get_running_loop()
    while waiting := [t for t in _pending.values() if t.get_loop() is loop and not t.done()]:
        await asyncio.gather(*waiting, return_exceptions=True)


async def _run(location: str, uri: bool, lock: Lock | None) -> None:
    if lock is not None:
        await lock.acquire()
    try:
        await asyncio.get_running_loop().run_in_executor(_thread, _checkpoint, location, uri)
    finally:
        if lock is not None:
            lock.release()


def _checkpoint(location: str, uri: bool) -> None:
    try:
        # never creates a database: one deleted meanwhile stays deleted
        target = location if uri else f"{Path(location).absolute().as_uri()}?mode=rw"
        conn = sqlite3.connect(target, uri=True)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
    except Exception as exc:  # best effort (a locked file, a vanished directory): the next
        # checkpoint copies these pages too, and no task fails with an exception nobody reads
        log.warning("SQLite checkpoint of %s failed: %r", location, exc)
