"""Money arithmetic for redemptions: Decimal only, never binary floats.

Rounding: the discount is rounded half-even (banker's rounding) to the currency's minor
unit, and the final amount is the original minus that rounded discount, so
original = discount + final holds exactly. Example: 30% of 0.05 EUR is 0.015, rounded
half-even to 0.02; the final amount is 0.03.
"""

from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    Underflow,
)

from promotion_service.errors import InvalidAmount
from promotion_service.vouchers.currencies import minor_units

MAX_AMOUNT = Decimal("1000000000")  # one billion major units per purchase
# Bounds of the decimal as written, checked before any arithmetic: 40 digits and an exponent
# of at least -40 hold every amount up to MAX_AMOUNT in any currency, padded with zeros.
MAX_DIGITS = 40
MIN_EXPONENT = -40
# Exact arithmetic for amounts within those bounds, whatever the thread's decimal context.
_EXACT = Context(prec=MAX_DIGITS + 10, traps=[InvalidOperation, Inexact, Overflow, Underflow])
_ROUNDING = Context(prec=MAX_DIGITS + 10, traps=[InvalidOperation, Overflow, Underflow])


@dataclass(frozen=True, slots=True)
class Amount:
    """A price that passed ``check_amount``: the only kind ``apply_discount`` takes."""

    value: Decimal
    currency: str
    minor_units: int


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


def check_amount(amount: Decimal, currency: str) -> Amount:
    """Raise InvalidAmount unless `amount` is a positive price exactly representable in
    `currency`'s minor unit and at most MAX_AMOUNT; return it as a checked Amount.

    Decided from the digits and the exponent alone (``as_tuple()``), bounded before any
    arithmetic: nothing here depends on the decimal context, so an exponent such as
    1e-9999999999 cannot underflow to zero and pass as a price.
    """
    units = minor_units(currency)
    if units is None:
        raise InvalidAmount("currency", f"unknown currency {currency!r:.8}; use an ISO 4217 code")
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):  # "n", "N" or "F": NaN, sNaN, Infinity
        raise InvalidAmount("amount", "amount must be a finite number")
    if sign or not any(digits):
        raise InvalidAmount("amount", "amount must be greater than zero")
    # adjusted() is exponent + len(digits) - 1: the magnitude, with no arithmetic.
    if amount.adjusted() > MAX_AMOUNT.adjusted():
        raise InvalidAmount("amount", f"amount must not exceed {MAX_AMOUNT}")
    decimals_refused = f"{currency} amounts have at most {units} decimal places"
    if len(digits) > MAX_DIGITS or exponent < MIN_EXPONENT:
        raise InvalidAmount("amount", decimals_refused)
    # Exactly representable in the minor unit: no non-zero digit beyond `units` decimals.
    beyond_minor_unit = -(exponent + units)
    if beyond_minor_unit > 0 and any(digits[-beyond_minor_unit:]):
        raise InvalidAmount("amount", decimals_refused)
    if amount > MAX_AMOUNT:  # exact: both operands are small, bounded decimals
        raise InvalidAmount("amount", f"amount must not exceed {MAX_AMOUNT}")
    return Amount(amount, currency, units)


def apply_discount(amount: Amount, discount_percent: int) -> Price:
    """The price after a percentage discount, rounded half-even to the minor unit."""
    quantum = Decimal(1).scaleb(-amount.minor_units)
    original = amount.value.quantize(quantum, context=_EXACT)
    share = _EXACT.divide(_EXACT.multiply(original, discount_percent), 100)
    discount = share.quantize(quantum, rounding=ROUND_HALF_EVEN, context=_ROUNDING)
    return Price(
        original=original,
        discount=discount,
        final=_EXACT.subtract(original, discount),
        currency=amount.currency,
        minor_units=amount.minor_units,
    )
