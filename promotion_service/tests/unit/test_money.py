"""Discount arithmetic: Decimal, half-even to the currency's minor unit."""

from decimal import Decimal

import pytest

from promotion_service.errors import InvalidAmount
from promotion_service.vouchers.currencies import MINOR_UNITS, minor_units
from promotion_service.vouchers.money import apply_discount, check_amount


@pytest.mark.parametrize(
    ("amount", "currency", "percent", "expected"),
    [
        ("100.00", "EUR", 30, ("100.00", "30.00", "70.00")),
        ("0.05", "EUR", 30, ("0.05", "0.02", "0.03")),
        ("0.15", "EUR", 30, ("0.15", "0.04", "0.11")),  # 0.045 -> 0.04 (even)
        ("100", "JPY", 30, ("100", "30", "70")),
        ("1005", "JPY", 30, ("1005", "302", "703")),  # 301.5 -> 302 (even)
        ("1015", "JPY", 30, ("1015", "304", "711")),  # 304.5 -> 304 (even)
        ("1.234", "BHD", 30, ("1.234", "0.370", "0.864")),
        ("999999999.99", "EUR", 30, ("999999999.99", "300000000.00", "699999999.99")),
        ("10", "EUR", 100, ("10.00", "10.00", "0.00")),
    ],
)
def test_the_discount_is_rounded_half_even_and_parts_add_up(
    amount: str, currency: str, percent: int, expected: tuple[str, str, str]
) -> None:
    price = apply_discount(check_amount(Decimal(amount), currency), percent)

    assert price.as_strings() == expected
    assert price.discount + price.final == price.original


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("0", "EUR", "amount"),
        ("-1", "EUR", "amount"),
        ("0.001", "EUR", "amount"),
        ("1.5", "JPY", "amount"),
        ("1000000000.01", "EUR", "amount"),
        ("Infinity", "EUR", "amount"),
        ("NaN", "EUR", "amount"),
        ("1.00", "XXX", "currency"),
        ("1.00", "XAU", "currency"),
    ],
)
def test_unacceptable_amounts_and_currencies_are_refused(
    amount: str, currency: str, field: str
) -> None:
    with pytest.raises(InvalidAmount) as refused:
        check_amount(Decimal(amount), currency)

    assert refused.value.field == field


def test_trailing_zeros_beyond_the_minor_unit_are_accepted() -> None:
    assert check_amount(Decimal("10.000"), "EUR").minor_units == 2


@pytest.mark.parametrize(
    "amount",
    [
        "1." + "0" * 40,  # 41 digits, each beyond the cents a zero
        "1" + "0" * 39 + "E-41",  # 0.01 in 40 digits, exponent below -40
        "1" + "0" * 4000 + "E-4000",  # 1 padded far past any context's precision
    ],
)
def test_amounts_past_the_digit_or_exponent_bound_are_refused_even_when_exact(
    amount: str,
) -> None:
    """The documented bound (40 digits, exponent -40) holds before any other check, so the
    size of what a client writes never decides how much work the check does."""
    with pytest.raises(InvalidAmount) as refused:
        check_amount(Decimal(amount), "EUR")

    assert refused.value.field == "amount"
    assert refused.value.reason == "EUR amounts have at most 2 decimal places"


def test_the_currency_table_knows_the_common_exponents() -> None:
    assert (minor_units("EUR"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert minor_units("CLF") == 4
    assert len(MINOR_UNITS) > 150
    assert all(len(code) == 3 and code.isupper() for code in MINOR_UNITS)
