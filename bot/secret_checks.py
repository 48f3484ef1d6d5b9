"""`leadbot serve` refuses to start with a placeholder secret: a value copied from an example
(`changeme`, `xoxb-your-token`, `secret`...) or a secret too short to resist guessing. Empty
values are fine: they mean "unset", and that part is off. The demo builds its own settings with
sandbox tokens and never comes here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.dispatch.context import Context
from bot.store.uow import UnitOfWork

MIN_SECRET = 16  # characters; Slack's signing and client secrets have 32
TOKENS = {"slack_bot_token": "SLACK_BOT_TOKEN", "slack_app_token": "SLACK_APP_TOKEN",
          "telegram_bot_token": "TELEGRAM_BOT_TOKEN"}  # fmt: skip
SECRETS = {"slack_signing_secret": "SLACK_SIGNING_SECRET",
           "telegram_webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
           "slack_client_secret": "SLACK_CLIENT_SECRET"}  # fmt: skip
WORDS = {
    "admin", "changeit", "changeme", "changethis", "default", "dummy", "example", "fake",
    "fixme", "letmein", "mysecret", "none", "null", "pass", "passw0rd", "password", "placeholder",
    "qwerty", "s3cret", "sandbox", "secret", "test", "testing", "tbd", "todo", "token",
    "yourtoken", "yoursecret", "123456", "12345678", "1234567890",
}  # fmt: skip
PATTERNS = re.compile(
    r"your[-_ ]?(bot[-_ ]?|app[-_ ]?|signing[-_ ]?|client[-_ ]?|webhook[-_ ]?)?(token|secret|key)"
    r"|change[-_ ]?me|replace[-_ ]?(me|this)|example|placeholder|\.\.\.|…|^<.*>$",
    re.IGNORECASE,
)


def looks_like_placeholder(value: str) -> bool:
    """Whether `value` reads like a stand-in rather than a real secret."""
    text = value.strip()
    bare = re.sub(r"^(xox[a-z]|xapp)-|^\d+:", "", text, flags=re.IGNORECASE)  # token prefixes
    letters = re.sub(r"[^a-z0-9]", "", bare.lower())
    return bool(
        PATTERNS.search(text)
        or letters in WORDS
        or len(set(letters)) <= 1  # "", "xxxx", "0000", "****"
    )


def _problem(name: str, value: str, *, secret: bool) -> str | None:
    if looks_like_placeholder(value):
        return f"{name} looks like a placeholder, not a real value: set it, or leave it empty"
    if secret and len(value.strip()) < MIN_SECRET:
        return (
            f"{name} is too short ({len(value.strip())} characters): use at least {MIN_SECRET} "
            "random ones (e.g. `openssl rand -hex 16`), or Slack's own value where it gives one"
        )
    return None


def weak_secrets(settings: Settings) -> list[str]:
    """One line per placeholder or too short secret, naming its variable (never its value)."""
    found = []
    for group, secret in ((TOKENS, False), (SECRETS, True)):
        for field, name in group.items():
            value = getattr(settings, field)
            if value is not None and value.get_secret_value() != "":  # empty: unset
                problem = _problem(name, value.get_secret_value(), secret=secret)
                found += [problem] if problem else []
    password = make_url(settings.database_url).password
    if password and looks_like_placeholder(str(password)):
        found.append("DATABASE_URL has a placeholder password: set the database's real one")
    return found


def weak_webhook_secrets(names: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """The same for the variables leadbot.yaml's webhooks take their secrets from (`secret_env`;
    unset ones are reported by the webhooks themselves, which wait for them)."""
    found = []
    for name in sorted(set(names)):
        problem = _problem(name, environ[name], secret=True) if environ.get(name) else None
        found += [f"{problem} (the secret of a webhook in leadbot.yaml)"] if problem else []
    return found


async def webhook_secret_names(uow: UnitOfWork, ctx: Context) -> list[str]:
    """The `secret_env` of every webhook in the policy in force."""
    version = await uow.config.current_version()
    if version is None:
        return []
    return [hook.secret_env for hook in (await ctx.policies.config(uow, version)).webhooks]
