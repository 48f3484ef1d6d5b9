"""What a web form posts, read as a lead: the field mapping, the spam timing, the submission id.

Kept apart from the route (`bot/handlers/forms.py`), which only checks, calls and answers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from bot.domain.leads import FORM_ID_PREFIX
from bot.intake_schema import MAPPABLE_FIELDS, OPEN_FIELDS
from bot.policy_file import Form

HONEYPOT, LOADED_AT, SENT_AT = "leadbot_hp", "leadbot_ts", "leadbot_sent"
MIN_FILL_SECONDS = 3.0


def form_document(form: Form, data: dict[str, list[str]]) -> dict[str, Any]:
    """Map posted fields onto the lead's shape with the form's `fields` mapping; a name it does
    not map passes only when it is one of OPEN_FIELDS, and the rest is left out silently (a
    site may post inputs of its own)."""
    doc: dict[str, Any] = {"source": form.source}
    for name, values in data.items():
        target = form.fields.get(name) or (name if name in OPEN_FIELDS else "")
        given = [v for v in values if v.strip()]
        # a consent box after a hidden "false" of the same name: the box, when ticked, wins
        value = given[-1] if target == "consent" and given else ", ".join(given)
        if not value or target not in MAPPABLE_FIELDS:
            continue
        if target.startswith("contact."):
            doc.setdefault("contact", {})[target.removeprefix("contact.")] = value
        elif target == "specialties":
            doc[target] = [s.strip() for s in value.replace(";", ",").split(",") if s.strip()]
        else:
            doc[target] = value
    return doc


def submission_id(form: Form, data: dict[str, list[str]], loaded_at: str) -> str:
    """One id for one submission: digested from the form and what was posted, with the page's
    load time when the form sends it (a new visit is a new lead), else the day."""
    when = loaded_at.strip() or f"{datetime.now(UTC):%Y-%m-%d}"
    posted = json.dumps([form.key, sorted(data.items()), when], ensure_ascii=False)
    return FORM_ID_PREFIX + hashlib.sha256(posted.encode()).hexdigest()[:40]


def seconds(text: str) -> float:
    """A time posted in Unix seconds (`leadbot_ts`, `leadbot_sent`); 0 (not timed) when
    missing or not a number."""
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if value == value and value < 1e12 else 0.0  # NaN and nonsense: not timed


def too_fast(loaded_at: str, sent_at: str, *, now: float) -> bool:
    """Filled faster than a person can. Timed by the browser's clock alone when the page sends
    both its load and its submit time; with the load time only (older snippets), against our
    clock, unless that time is in our future: then the clocks disagree and it is not timed
    (a visitor whose clock runs fast is a person, not a bot)."""
    loaded, sent = seconds(loaded_at), seconds(sent_at)
    if not loaded:
        return False
    if sent:
        return 0 <= sent - loaded < MIN_FILL_SECONDS  # a clock set back meanwhile: not timed
    return loaded <= now and now - loaded < MIN_FILL_SECONDS
