"""What can go wrong with a voucher, in domain terms (problems.py maps them to HTTP)."""


class VoucherNotFound(Exception):
    """No such voucher for this caller (someone else's voucher looks the same)."""


class VoucherAlreadyRedeemed(Exception):
    """The voucher was used for another purchase."""


class PurchaseRedeemedWithOtherAmount(Exception):
    """This purchase_id was redeemed with another amount or currency: a client bug, not a retry."""


class VoucherExpired(Exception):
    """The voucher's expires_at has passed."""


class InvalidAmount(Exception):
    """The amount or currency of a redemption is not acceptable; `field` names which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
