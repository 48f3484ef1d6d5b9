"""leads: Idempotency-Key ids in today's form

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00

A lead sent over the API with only an `Idempotency-Key` header was stored under
'idem:<API key name>:<header>', cut at 128 characters; it is now stored under 'idem:' and a
SHA-256 of the pair (bot.domain.leads.idempotency_id). Without this, a client's retry of a
request sent before the upgrade made a second lead. The API key's name is read from the lead's
'received' event ("api key NAME"). An id of 128 characters may have been cut, so its header is
not known whole: it is left as it was (a retry of that request makes a second lead).
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_MAX = 128  # the old id was cut here
ACTOR = "api key "


def _new_id(key: str, header: str) -> str:
    """As bot.domain.leads.idempotency_id did at this revision (a migration keeps its copy)."""
    pair = json.dumps([key, header], ensure_ascii=False)
    return "idem:" + hashlib.sha256(pair.encode()).hexdigest()


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT l.id, l.external_id, e.actor FROM leads l"
            " JOIN lead_events e ON e.lead_id = l.id AND e.kind = 'received'"
            " WHERE l.external_id LIKE 'idem:%'"
        )
    ).all()
    for lead_id, old, actor in rows:
        if not actor.startswith(ACTOR):
            continue
        head = f"idem:{actor[len(ACTOR) :]}:"
        if not old.startswith(head) or len(old) >= OLD_MAX:
            continue  # today's form already, or cut: the header is not known whole
        conn.execute(
            sa.text("UPDATE leads SET external_id = :new WHERE id = :id"),
            {"new": _new_id(actor[len(ACTOR) :], old[len(head) :]), "id": lead_id},
        )


def downgrade() -> None:
    pass  # ids stay in today's form: older code makes a second lead for a retry of them
