"""Domain errors: each carries a message fit to show the person who caused it."""


class LeadbotError(Exception):
    """Base class for errors a user can act on."""


class NotFound(LeadbotError):
    """The lead, offer or partner named does not exist."""


class NotAllowed(LeadbotError):
    """The actor may not do this (wrong partner, wrong role)."""


class InvalidInput(LeadbotError):
    """A value given by a user is not acceptable (unknown reason, negative value...)."""


class KeyReused(InvalidInput):
    """An Idempotency-Key already named a different request (a different lead)."""

    def __init__(self, first: str) -> None:
        super().__init__(
            f"was used before for a different lead ({first}); give each new lead a new key"
        )
        self.first = first


class NotConfigured(LeadbotError):
    """No leadbot.yaml was ever applied: there is no policy to route by."""

    def __init__(self) -> None:
        super().__init__("no configuration has been applied yet: run `leadbot config apply`")


class ConfigError(LeadbotError):
    """A configuration file was refused; `problems` lists every reason with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
