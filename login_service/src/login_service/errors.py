"""Domain exceptions. Services raise these; only ``problems.py`` maps them to HTTP."""

from typing import Literal

AccountField = Literal["username", "email", "phone"]


class DomainError(Exception):
    """Base class of every error the service layer reports to a caller."""

    code: str = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AccountConflict(DomainError):
    """Registration refused: a unique field is already taken by another account."""

    code = "account-conflict"

    def __init__(self, field: AccountField) -> None:
        super().__init__(f"An account with this {field} already exists.")
        self.field = field


class InvalidField(DomainError):
    """A field passed the request schema but the service refuses its value (a 422)."""

    code = "validation-error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__("The request is not valid.")
        self.field = field
        self.message = message


class InvalidCredentials(DomainError):
    """Login refused. Deliberately the same for unknown accounts and wrong passwords."""

    code = "invalid-credentials"

    def __init__(self) -> None:
        super().__init__("The identifier or the password is incorrect.")


class Throttled(DomainError):
    """Refused for now: a budget of attempts is spent until ``retry_after_seconds``."""

    message = "Too many attempts. Try again later."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(self.message)
        self.retry_after_seconds = max(1, retry_after_seconds)


class LoginThrottled(Throttled):
    """Too many failed logins for this account or from this client address.

    ``rule`` names the budget that refused (its scope: ``identifier``, ``client``,
    ``account``, ``account_day``), or ``in_flight`` when no place freed in time; it is for
    the operators' metrics only, never told to the client.
    """

    code = "too-many-login-failures"
    message = "Too many failed login attempts. Try again later."

    def __init__(self, retry_after_seconds: int, rule: str) -> None:
        super().__init__(retry_after_seconds)
        self.rule = rule


class VerificationQueueFull(Throttled):
    """More password checks wait in this process than it hashes in a few seconds: shed."""

    code = "service-busy"
    message = "The service is busy. Try again shortly."


class RegistrationThrottled(Throttled):
    """Too many registrations from this client network."""

    code = "too-many-registrations"
    message = "Too many accounts were created from your network. Try again later."


class ServiceStarting(DomainError):
    """The instance is still preparing its database (indexes, migrations)."""

    code = "starting"
    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__("The service is starting; try again shortly.")


class NotAuthenticated(DomainError):
    """The request carries no usable access token."""

    code = "not-authenticated"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail)


class InvalidToken(NotAuthenticated):
    """The access token is malformed, forged, expired or not meant for this service."""

    code = "invalid-token"

    def __init__(self, reason: str) -> None:
        # The reason goes to logs and tests, never to the client.
        super().__init__("The bearer token is invalid or expired.")
        self.reason = reason


class KeyConfigurationError(Exception):
    """The signing key setup is unusable; the service must not start."""
