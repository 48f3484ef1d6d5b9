"""Dispatch use cases: one function per intent, shared by every platform and the CLI."""

from bot.dispatch.answers import accept_offer, decline_offer
from bot.dispatch.assignment import assign_lead
from bot.dispatch.context import Context, Hooks, PolicyBook
from bot.dispatch.delivery import record_delivery, record_failure
from bot.dispatch.expiry import expire_offer
from bot.dispatch.intake import intake_lead
from bot.dispatch.offering import route_lead
from bot.dispatch.stages import set_stage

__all__ = [
    "Context",
    "Hooks",
    "PolicyBook",
    "accept_offer",
    "assign_lead",
    "decline_offer",
    "expire_offer",
    "intake_lead",
    "record_delivery",
    "record_failure",
    "route_lead",
    "set_stage",
]
