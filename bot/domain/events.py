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


# the event written when an offer leaves `pending` for each status
OFFER_EVENT = {
    "accepted": EventKind.ACCEPTED,
    "declined": EventKind.DECLINED,
    "expired": EventKind.EXPIRED,
    "withdrawn": EventKind.WITHDRAWN,
    "undeliverable": EventKind.UNDELIVERABLE,
}
