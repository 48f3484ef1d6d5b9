"""Logging for `leadbot serve` and every other command: Leadbot's own lines at
LEADBOT_LOG_LEVEL, other libraries never below INFO, whatever the level asked for.

Why: at DEBUG, aiosqlite logs every call with its SQL parameters (a lead's name, e-mail and
phone), slack_sdk and python-telegram-bot every request with its body (the cards, contact
included), httpcore the request headers (bot tokens); at INFO, SQLAlchemy logs every statement
with its parameters and httpx every request URL (Telegram's carry the bot token). So
LEADBOT_LOG_LEVEL=DEBUG turns on Leadbot's own debug lines only, and those libraries are held
where they say nothing of that kind.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

OWN = ("bot", "leadbot")  # the loggers of Leadbot's own code
# the least level each library may log at, whatever LEADBOT_LOG_LEVEL says
FLOORS = {
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.INFO,
    "telegram": logging.INFO,
    "websockets": logging.INFO,
    "aiohttp": logging.INFO,
    "python_multipart": logging.INFO,
    "apscheduler": logging.WARNING,  # INFO: a line for every offer timer added and run
}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to sys.stderr as it is at each line (a test runner may have swapped it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def parse_level(name: str) -> int:
    """A level name (DEBUG, INFO, WARNING, ERROR); INFO for anything else."""
    level = logging.getLevelName(name.strip().upper())
    return level if isinstance(level, int) else logging.INFO


def setup_logging(level: str | int) -> None:
    """Hold the libraries at their floors; then, unless logging is already set up (an
    application embedding Leadbot, a test runner), log to stderr at `level`."""
    wanted = parse_level(level) if isinstance(level, str) else level
    for name, floor in FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, wanted))
    root = logging.getLogger()
    if root.handlers:
        return
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(max(wanted, logging.INFO))  # libraries not named above: INFO at the most
    for name in OWN:
        logging.getLogger(name).setLevel(wanted)
