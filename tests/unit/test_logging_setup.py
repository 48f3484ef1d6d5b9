"""Leadbot's logging: at LEADBOT_LOG_LEVEL=DEBUG its own debug lines show, and the libraries that
would print SQL parameters, request bodies or tokens stay quiet. Each case runs in a fresh
interpreter, where nothing has set logging up yet, as in `leadbot serve`."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = """
import logging
from bot.logs import setup_logging
setup_logging({level!r})
for name in ("bot.dispatch", "leadbot", "aiosqlite", "sqlalchemy.engine.Engine", "asyncpg",
             "httpx", "httpcore.http11", "slack_sdk.web", "slack_bolt.App", "telegram.ext",
             "apscheduler.jobs", "some.other.library"):
    for level in (logging.DEBUG, logging.INFO, logging.WARNING):
        logging.getLogger(name).log(level, "%s at %s", name, logging.getLevelName(level))
"""


def logged(level: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE.format(level=level))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {line.split(": ", 1)[1] for line in done.stderr.splitlines()}


def test_debug_is_for_leadbot_only():
    lines = logged("DEBUG")
    assert {"bot.dispatch at DEBUG", "leadbot at DEBUG"} <= lines
    for quiet in ("aiosqlite", "asyncpg", "slack_sdk.web", "slack_bolt.App", "telegram.ext",
                  "some.other.library"):  # fmt: skip
        assert f"{quiet} at DEBUG" not in lines and f"{quiet} at INFO" in lines
    for quieter in (
        "sqlalchemy.engine.Engine",
        "httpx",
        "httpcore.http11",
        "apscheduler.jobs",
    ):
        assert f"{quieter} at INFO" not in lines and f"{quieter} at WARNING" in lines


def test_warning_means_warnings_from_everyone():
    lines = logged("WARNING")
    assert "bot.dispatch at INFO" not in lines and "bot.dispatch at WARNING" in lines
    assert "slack_sdk.web at INFO" not in lines and "httpx at WARNING" in lines


def test_an_unknown_level_name_means_info():
    lines = logged("chatty")
    assert "bot.dispatch at INFO" in lines and "bot.dispatch at DEBUG" not in lines


async def test_a_database_error_does_not_carry_the_values_into_a_log(tmp_path):
    from sqlalchemy import text

    from bot.store.db import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/e.db")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (email TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO t VALUES (:e)"), {"e": "max@example.com"})
            try:
                await conn.execute(text("INSERT INTO t VALUES (:e)"), {"e": "max@example.com"})
            except Exception as exc:  # what log.exception would print
                error = str(exc)
    finally:
        await engine.dispose()
    assert "UNIQUE constraint failed" in error and "max@example.com" not in error
