"""Who is acting: a linked member with a role, or the system itself (timers, sweeps)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    MANAGER = "manager"
    PARTNER_ADMIN = "partner_admin"
    PARTNER_REP = "partner_rep"
    SYSTEM = "system"


class Source(StrEnum):
    """Where an action came from; stored on every event."""

    SLACK = "slack"
    TELEGRAM = "telegram"
    API = "api"
    CLI = "cli"
    TIMER = "timer"
    DEMO = "demo"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    member_id: int | None = None
    partner_id: int | None = None

    @classmethod
    def system(cls, name: str = "leadbot") -> Actor:
        return cls(name=name, role=Role.SYSTEM)

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.MANAGER, Role.SYSTEM)

    def may_act_for(self, partner_id: int) -> bool:
        """Managers act for every partner; partner members only for their own."""
        return self.is_manager or self.partner_id == partner_id

    @property
    def label(self) -> str:
        return self.name if self.member_id is None else f"{self.name} (#{self.member_id})"
