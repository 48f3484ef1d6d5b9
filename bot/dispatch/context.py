"""What every use case needs besides the unit of work: time, the router, policies, hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic
from typing import Protocol

from bot.clock import Clock
from bot.domain.errors import LeadbotError, NotConfigured
from bot.domain.offers import OfferStatus
from bot.messaging import OfferCard
from bot.policy_file import LeadbotConfig, Policy, validate_document
from bot.routing.directory import Directory, build_directory
from bot.routing.geo import Geocoder, PlaceCache, UsZipcodes
from bot.routing.policy import RoutingPolicy
from bot.store.outbox import OutboxItem
from bot.store.pacing import Slot
from bot.store.partners import Destination
from bot.store.uow import UnitOfWork


def _nothing(*_args: object) -> None:
    return None


@dataclass(frozen=True)
class ReadyCard:
    """An offer card drawn in the transaction that queued it, claimed for the express lane."""

    item: OutboxItem
    destination: Destination
    card: OfferCard
    shown: OfferStatus  # the offer's status the card was drawn for
    leased_until: datetime  # the claim taken in the transaction runs out then
    slot: float | None = None  # when the chat takes it (pacing), seconds since the epoch


class ExpressLane(Protocol):
    """Sends new offer cards straight after their commit, without waiting for an outbox pass.

    Items are queued already claimed under `claim` for `lease`: if this process dies before
    sending, the lease runs out and any sender picks them up as usual.
    """

    claim: str
    lease: timedelta

    def send(self, cards: list[ReadyCard]) -> None: ...

    async def reserve(self, uow: UnitOfWork, dest: Destination) -> Slot | None:
        """A pacing slot for one message to `dest`, taken in `uow` (None: not paced)."""
        ...


@dataclass
class Hooks:
    """After-commit effects: timers and the sender's wake-up. No-ops until wired."""

    arm: Callable[[int, datetime], None] = _nothing  # offer expiry
    remind: Callable[[int, datetime], None] = _nothing  # reminder to the partner's reps
    disarm: Callable[[int], None] = _nothing  # both, once the offer is answered
    poke: Callable[[], None] = _nothing
    # each sweep reads the newest applied configuration and tells: what depends on it (the
    # Telegram command menus) catches up with a leadbot.yaml applied while this process runs
    applied: Callable[[int], None] = _nothing
    express: ExpressLane | None = None  # set while the outbox sender runs


DIRECTORY_CHECK = 1.0


class PolicyBook:
    """Policy versions by number; versions never change once stored, so they are cached."""

    def __init__(self) -> None:
        self._cache: dict[int, LeadbotConfig] = {}
        self._directory: Directory | None = None
        self._checked_at = float("-inf")

    async def config(self, uow: UnitOfWork, version: int) -> LeadbotConfig:
        if version not in self._cache:
            document = await uow.config.get_document(version)
            if document is None:
                raise LeadbotError(f"policy version {version} is missing from the database")
            self._cache[version] = validate_document(document, stored=True)
        return self._cache[version]

    def known(self) -> bool:
        """Whether a policy version was ever seen (applied configurations are never deleted)."""
        return bool(self._cache)

    async def get(self, uow: UnitOfWork, version: int) -> Policy:
        return (await self.config(uow, version)).policy

    def confirm(self, version: int) -> None:
        """`version` was just read as the newest applied (a new lead's insert reads it): if it
        is the cached directory's, that counts as a check, and the next is a second away."""
        if self._directory is not None and self._directory.version == version:
            self._checked_at = monotonic()

    async def directory(self, uow: UnitOfWork, *, at_least: int = 0) -> Directory:
        """The partner directory of the policy in force (rebuilt when a new one is applied).

        Whether a newer policy was applied (by this or another instance) is checked at most
        every `DIRECTORY_CHECK` seconds: routing is hot, and a new leadbot.yaml can wait that long.
        A lead on a newer version than the cached one (`at_least`) always brings it up to date.
        """
        cached = self._directory
        if (
            cached is not None
            and cached.version >= at_least
            and monotonic() - self._checked_at < DIRECTORY_CHECK
        ):
            return cached
        version = await uow.config.current_version()
        self._checked_at = monotonic()
        if version is None:
            raise NotConfigured()
        if self._directory is None or self._directory.version != version:
            config = await self.config(uow, version)
            self._directory = build_directory(
                config, version=version, ids=await uow.partners.ids_by_slug()
            )
        return self._directory

    async def current(self, uow: UnitOfWork) -> tuple[int, Policy]:
        version, config = await self.current_config(uow)
        return version, config.policy

    async def current_config(self, uow: UnitOfWork) -> tuple[int, LeadbotConfig]:
        """The newest applied configuration, its version read now (not cached)."""
        version = await uow.config.current_version()
        if version is None:
            raise NotConfigured()
        return version, await self.config(uow, version)


class Observer(Protocol):
    """Where use cases report what happened, for metrics (after commit only)."""

    def lead_received(self, source: str) -> None: ...

    def offer_settled(self, outcome: str, waited: float | None) -> None: ...

    def delivered(self, after_intake: float) -> None: ...

    def send_error(self, platform: str, *, permanent: bool) -> None: ...


class NoMetrics:
    def lead_received(self, source: str) -> None:
        return None

    def offer_settled(self, outcome: str, waited: float | None) -> None:
        return None

    def delivered(self, after_intake: float) -> None:
        return None

    def send_error(self, platform: str, *, permanent: bool) -> None:
        return None


@dataclass
class Context:
    clock: Clock
    router: RoutingPolicy
    policies: PolicyBook = field(default_factory=PolicyBook)
    observe: Observer = field(default_factory=NoMetrics)
    geocoder: Geocoder = field(default_factory=UsZipcodes)
    places: PlaceCache = field(default_factory=PlaceCache)
    hooks: Hooks = field(default_factory=Hooks)

    def now(self) -> datetime:
        return self.clock.now()
