"""Domain errors of the promotion. Services raise these; only ``problems.py`` maps them to HTTP.

Each type carries its problem ``code`` (the last part of the problem ``type`` URN), a
``title`` and a ``detail`` that are safe to show a client: never an input, id or token.
"""


class DomainError(Exception):
    """Base class of every error the service layer reports to a caller."""

    code: str = "error"
    title: str = "Error"
    detail: str = "The request cannot be completed."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail


class NotAuthenticated(DomainError):
    """No bearer token was sent."""

    code = "not-authenticated"
    title = "Not authenticated"
    detail = "A bearer token is required."


class InvalidToken(DomainError):
    """The token was refused; ``reason`` says why, without any token content."""

    code = "invalid-token"
    title = "Invalid token"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailable(DomainError):
    """No key the service may trust is at hand: the login service's JWKS cannot be fetched
    and no cached keys are young enough. No token can be checked now."""

    code = "token-keys-unavailable"
    title = "Token keys unavailable"
    detail = "Tokens cannot be checked right now; try again shortly."


class ServiceStarting(DomainError):
    """The instance is still preparing its database (indexes, the default campaign)."""

    code = "starting"
    title = "Service starting"
    detail = "The service is starting; try again shortly."


class CampaignNotFound(DomainError):
    """No campaign with this id."""

    code = "campaign-not-found"
    title = "Campaign not found"
    detail = "No such campaign."


class VoucherNotFound(DomainError):
    """No such voucher for this caller (someone else's voucher looks the same)."""

    code = "voucher-not-found"
    title = "Voucher not found"
    detail = "No such voucher for you."


class VoucherAlreadyRedeemed(DomainError):
    """The voucher was used for another purchase."""

    code = "voucher-already-redeemed"
    title = "Voucher already redeemed"
    detail = "This voucher was used for another purchase."


class PurchaseRedeemedWithOtherAmount(DomainError):
    """This purchase_id was redeemed with another amount or currency: a client bug, not a retry."""

    code = "purchase-redeemed-with-other-amount"
    title = "Purchase already redeemed with another amount"
    detail = "This purchase_id was redeemed with a different amount or currency."


class VoucherExpired(DomainError):
    """The voucher's expires_at has passed."""

    code = "voucher-expired"
    title = "Voucher expired"
    detail = "This voucher has expired."


class InvalidAmount(DomainError):
    """The amount or currency of a redemption is not acceptable; ``field`` names which."""

    code = "validation-error"
    title = "Invalid request"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class CampaignMissing(DomainError):
    """The configured campaign does not exist (yet); a later grant may succeed."""

    code = "campaign-missing"
    title = "Campaign missing"


class PermanentGrantError(DomainError):
    """The event contradicts stored state; retrying cannot help, a person must look."""

    code = "grant-contradiction"
    title = "Event contradicts stored state"


class SlotHeldByAnotherAccount(PermanentGrantError):
    """Two accounts carry the same first_login_order: the producer broke its contract."""

    code = "slot-held-by-another-account"


class SlotCounterExhausted(PermanentGrantError):
    """A free slot but a full counter: stored state is inconsistent."""

    code = "slot-counter-exhausted"
