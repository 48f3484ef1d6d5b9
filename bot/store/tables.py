"""Tables of design.md §3 (SQLAlchemy Core; migrations in store/migrations)."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from bot.store.types import UtcDateTime

# the largest row id: ids are INTEGER, which is 32 bits on PostgreSQL; a larger number from
# outside (a URL, a cursor) names no row, and binding it would fail
MAX_ROW_ID = 2**31 - 1


def row_id(text: str) -> int | None:
    """`text` as a row id, if it can be one: ASCII digits, within the id column's range."""
    digits = text.lstrip("0")  # no int() of an overlong string: a long number is no id
    if not (text.isascii() and text.isdigit() and len(digits) <= len(str(MAX_ROW_ID))):
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", UtcDateTime, nullable=False),
    Column("source_file", String(500)),
    Column("document", JSON, nullable=False),
)

partners = Table(
    "partners",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("paused_until", UtcDateTime),
    Column("capacity", Integer, nullable=False),
    Column("weight", Integer, nullable=False, server_default="1"),
    Column("priority", Integer, nullable=False, server_default="1"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("hours", JSON, nullable=False),
    Column("holidays", JSON, nullable=False),
    Column("specialties", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("daily_cap", Integer),
    Column("lat", Float),  # where the partner is, for `prefer: nearest`
    Column("lon", Float),
    # smooth weighted round robin state: kept here so fairness survives restarts
    Column("rr_current", Float, nullable=False, server_default="0"),
    Column("last_offered_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
)

territories = Table(
    "territories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    Column("country", String(2), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("value", String(16)),
    Column("range_from", Integer),
    Column("range_to", Integer),
    Column("lat", Float),
    Column("lon", Float),
    Column("radius_km", Float),
    Index("ix_territories_country_kind", "country", "kind"),
)

destinations = Table(
    "destinations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE")),  # NULL: the managers
    Column("platform", String(16), nullable=False),
    Column("team", String(32), nullable=False, server_default=""),
    Column("chat_id", String(64), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),  # declared in leadbot.yaml
    # the platform said the chat is gone for the bot; nothing goes there until `config apply`
    Column("broken_at", UtcDateTime),
    Column("broken_reason", String(200)),
    # set: a member's private chat with the bot (Telegram DMs with their partner's offers), not
    # declared in leadbot.yaml; it exists once they wrote to the bot there, broken once blocked
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE")),
    UniqueConstraint("platform", "team", "chat_id", "partner_id", name="uq_destinations_target"),
    # routing asks, for every candidate of every decision, whether it has a chat left
    Index("ix_destinations_partner", "partner_id"),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE")),
    Column("active", Boolean, nullable=False, server_default="1"),
    # Telegram DMs with new offers: leadbot.yaml's `telegram_dm`, and the member's own `/dm`
    # choice (NULL: none made), which wins
    Column("telegram_dm", Boolean, nullable=False, server_default="1"),
    Column("telegram_dm_choice", Boolean),
)

chat_accounts = Table(
    "chat_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("team", String(32), nullable=False, server_default=""),
    Column("external_id", String(64), nullable=False),
    # set when linked from the chat with a code; such links survive `config apply`
    Column("linked_at", UtcDateTime),
    UniqueConstraint("platform", "team", "external_id", name="uq_chat_accounts_identity"),
)
link_codes = Table(
    "link_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

leads = Table(
    "leads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(16), nullable=False, unique=True),
    Column("source", String(64), nullable=False),
    Column("external_id", String(128)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("country", String(2), nullable=False),
    Column("postcode", String(16), nullable=False),
    Column("city", String(100)),
    Column("lat", Float),
    Column("lon", Float),
    Column("specialties", JSON, nullable=False),
    Column("need", Text),
    Column("temperature", String(8)),
    Column("qualification", String(8)),
    Column("estimated_value", Float),
    Column("language", String(8)),
    Column("status", String(16), nullable=False),
    # everyone who could take it is closed: route again then (out_of_hours: hold)
    Column("held_until", UtcDateTime),
    Column("stage", String(16), nullable=False, server_default="none"),
    Column("stage_value", Float),
    Column("lost_reason", String(64)),
    Column("stage_changed_at", UtcDateTime),
    # funnel milestones: when the lead (with its current partner) first reached each step
    Column("contacted_at", UtcDateTime),
    Column("qualified_at", UtcDateTime),
    Column("opportunity_at", UtcDateTime),
    Column("partner_id", ForeignKey("partners.id")),
    Column("policy_version", Integer, nullable=False),
    Column("round", Integer, nullable=False, server_default="0"),
    Column("explanation", JSON),
    # escalation to the managers: when the last notice went out and how many so far
    Column("escalated_at", UtcDateTime),
    Column("escalations", Integer, nullable=False, server_default="0"),
    # accepted but not worked: the partner was nudged, then the managers were told
    Column("nudged_at", UtcDateTime),
    Column("stale_alerted_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    # SHA-256 of the request, for a lead named by an Idempotency-Key (NULL otherwise)
    Column("request_digest", String(64)),
    UniqueConstraint("source", "external_id", name="uq_leads_source_external_id"),
    Index("ix_leads_status_received", "status", "received_at"),
    Index("ix_leads_partner_status", "partner_id", "status"),
    Index("ix_leads_received_partner", "received_at", "partner_id"),
)

# personal data, kept apart from the teaser so erase and retention touch one table
lead_contacts = Table(
    "lead_contacts",
    metadata,
    Column("lead_id", ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(200)),
    Column("email", String(254)),
    Column("phone", String(40)),
    Column("company", String(200)),
    Column("street", String(200)),
    # the person agreed to be contacted by a partner: true, false, or NULL (not said)
    Column("consent", Boolean),
    # set once the fields above were emptied: `leadbot erase` (request) or retention_days
    Column("erased_at", UtcDateTime),
    Column("erased_by", String(16)),  # request | retention
)

offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("lead_id", ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("partner_id", ForeignKey("partners.id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("responded_at", UtcDateTime),
    Column("remind_at", UtcDateTime),  # when to push the partner's reps, if still pending
    Column("reminded_at", UtcDateTime),
    Column("responder", String(200)),
    Column("decline_reason", String(64)),
    Column("why", Text),
    Index("ix_offers_lead", "lead_id"),
    Index("ix_offers_status_expires", "status", "expires_at"),
    Index("ix_offers_partner_status", "partner_id", "status"),
)

offer_messages = Table(
    "offer_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("offer_id", ForeignKey("offers.id", ondelete="CASCADE"), nullable=False),
    Column("destination_id", ForeignKey("destinations.id"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_offer_messages_offer", "offer_id"),
)

lead_events = Table(
    "lead_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("lead_id", ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("offer_id", Integer),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("source", String(16), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_lead_events_lead", "lead_id", "id"),
    Index("ix_lead_events_kind_at", "kind", "at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # offer | update | notice
    Column("destination_id", ForeignKey("destinations.id")),
    Column("offer_id", Integer),
    Column("offer_message_id", Integer),
    Column("lead_id", Integer),
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False),  # pending | sent | failed | skipped
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime),
    Column("claim", String(16)),  # token of the sender holding the lease
    Column("last_error", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    # a try ended without knowing whether the platform got it: look before posting again
    Column("maybe_sent", Boolean, nullable=False, server_default=false()),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

# one row per daily digest sent, so several instances send it once
digests = Table(
    "digests",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("sent_at", UtcDateTime, nullable=False),
)

# postcode centroids for countries other than the US (loaded by `leadbot geo import`)
postcode_centroids = Table(
    "postcode_centroids",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("postcode", String(16), primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("place", String(200)),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("hash", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

# questions the Telegram bot asked by reply (ForceReply: an amount, a reason), so whichever
# instance gets the reply can answer it, also after a restart
telegram_questions = Table(
    "telegram_questions",
    metadata,
    Column("chat_id", String(64), nullable=False),
    Column("message_id", String(64), nullable=False),  # the bot's question message
    Column("value", String(64), nullable=False),  # the button value the answer completes
    Column("asked", String(64), nullable=False),  # the Telegram user id of who was asked
    Column("asked_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("chat_id", "message_id"),
    Index("ix_telegram_questions_expires", "expires_at"),
)

# message pacing shared by every instance: when the next message may go to a chat
send_pacing = Table(
    "send_pacing",
    metadata,
    Column("key", String(120), primary_key=True),  # platform:team:chat
    Column("next_at", Float, nullable=False),  # seconds since the epoch
)

# CRM webhook endpoints that are down now: one row per URL, shared by every instance, so the
# managers are told once per outage (and when it is over) and /healthz agrees everywhere
webhook_outages = Table(
    "webhook_outages",
    metadata,
    Column("url_key", String(64), primary_key=True),  # SHA-256 of the URL
    Column("url", Text, nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("error", String(500), nullable=False),
)

# kept beside their own concerns, registered on the same metadata (imported last: they
# import `metadata` from here)
from bot.store import rollup_tables, slack_tables  # noqa: E402, F401
