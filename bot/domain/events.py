"""Kinds of entries in the append-only lead audit log."""

from enum import StrEnum


class EventKind(StrEnum):
    RECEIVED = "received"
    HELD = "held"
    OFFERED = "offered"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    UNDELIVERABLE = "undeliverable"
    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    STAGE_CHANGED = "stage_changed"
    REMINDED = "reminded"  # the partner's reps were pushed before the window closed
    ESCALATED = "escalated"  # the managers were told again about an unassigned lead
    NUDGED = "nudged"  # an accepted lead went stale: the partner was nudged
    STALE = "stale"  # still stale: the managers were told
    REASSIGNED = "reassigned"  # a manager took an accepted lead back
    ERASED = "erased"  # the contact was erased (on request, or retention_days passed)


# the event written when an offer leaves `pending` for each status
OFFER_EVENT = {
    "accepted": EventKind.ACCEPTED,
    "declined": EventKind.DECLINED,
    "expired": EventKind.EXPIRED,
    "withdrawn": EventKind.WITHDRAWN,
    "undeliverable": EventKind.UNDELIVERABLE,
}
