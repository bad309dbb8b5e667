"""Money arithmetic for redemptions: Decimal only, never binary floats.

Rounding: the discount is rounded half-even (banker's rounding) to the currency's minor
unit, and the final amount is the original minus that rounded discount, so
original = discount + final holds exactly. Example: 30% of 0.05 EUR is 0.015, rounded
half-even to 0.02; the final amount is 0.03.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from promotion_service.vouchers.currencies import minor_units
from promotion_service.vouchers.exceptions import InvalidAmount

MAX_AMOUNT = Decimal("1000000000")  # one billion major units per purchase


@dataclass(frozen=True, slots=True)
class Price:
    original: Decimal
    discount: Decimal
    final: Decimal
    currency: str
    minor_units: int

    def as_strings(self) -> tuple[str, str, str]:
        """Original, discount and final amount with exactly `minor_units` decimals."""
        return format(self.original, "f"), format(self.discount, "f"), format(self.final, "f")


def check_amount(amount: Decimal, currency: str) -> int:
    """Raise InvalidAmount unless `amount` is a sensible price in `currency`; return its
    minor units."""
    units = minor_units(currency)
    if units is None:
        raise InvalidAmount("currency", f"unknown currency {currency!r:.8}; use an ISO 4217 code")
    if not amount.is_finite():
        raise InvalidAmount("amount", "amount must be a finite number")
    if amount <= 0:
        raise InvalidAmount("amount", "amount must be greater than zero")
    if amount > MAX_AMOUNT:
        raise InvalidAmount("amount", f"amount must not exceed {MAX_AMOUNT}")
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    if -exponent > units:
        raise InvalidAmount("amount", f"{currency} amounts have at most {units} decimal places")
    return units


def apply_discount(amount: Decimal, currency: str, discount_percent: int) -> Price:
    """The price after a percentage discount, rounded half-even to the minor unit."""
    units = check_amount(amount, currency)
    quantum = Decimal(1).scaleb(-units)
    original = amount.quantize(quantum)
    discount = (original * discount_percent / 100).quantize(quantum, rounding=ROUND_HALF_EVEN)
    return Price(
        original=original,
        discount=discount,
        final=original - discount,
        currency=currency,
        minor_units=units,
    )
