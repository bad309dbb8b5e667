"""Properties of money, searched by Hypothesis: the parts always add up in the minor unit,
nothing is ever negative, and parsing raises only the documented errors."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from promotion_service.errors import InvalidAmount
from promotion_service.vouchers.currencies import MINOR_UNITS
from promotion_service.vouchers.money import MAX_AMOUNT, apply_discount, check_amount
from promotion_service.vouchers.schemas import RedeemRequest

CURRENCIES = sorted(MINOR_UNITS)


@st.composite
def prices(draw: st.DrawFn) -> tuple[Decimal, str]:
    """A valid amount in minor units of a known currency, written with any trailing zeros."""
    currency = draw(st.sampled_from(CURRENCIES))
    units = MINOR_UNITS[currency]
    minor = draw(st.integers(min_value=1, max_value=int(MAX_AMOUNT) * 10**units))
    padding = draw(st.integers(min_value=0, max_value=6))
    amount = Decimal(minor * 10**padding).scaleb(-(units + padding))
    return amount, currency


def in_minor_units(amount: Decimal, units: int) -> int:
    scaled = amount.scaleb(units)
    assert scaled == scaled.to_integral_value(), f"{amount} is not in whole minor units"
    return int(scaled)


@settings(max_examples=400, deadline=None)
@given(price=prices(), percent=st.integers(min_value=1, max_value=100))
def test_discount_and_final_amount_add_up_to_the_original_and_are_never_negative(
    price: tuple[Decimal, str], percent: int
) -> None:
    amount, currency = price
    units = MINOR_UNITS[currency]

    result = apply_discount(check_amount(amount, currency), percent)

    original, discount, final = (
        in_minor_units(v, units) for v in (result.original, result.discount, result.final)
    )
    assert original == in_minor_units(amount, units)
    assert discount + final == original
    assert discount >= 0
    assert final >= 0
    assert all(len(text.partition(".")[2]) == units for text in result.as_strings())


ANY_DECIMAL = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda digits, exponent, negative: Decimal((int(negative), digits, exponent)),
        st.lists(st.integers(0, 9), min_size=1, max_size=60).map(tuple),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.booleans(),
    ),
)


@settings(max_examples=600, deadline=None)
@given(amount=ANY_DECIMAL, currency=st.text(max_size=5) | st.sampled_from(CURRENCIES))
def test_checking_any_decimal_raises_only_invalid_amount(amount: Decimal, currency: str) -> None:
    refused_field: str | None = None
    try:
        checked = check_amount(amount, currency)
    except InvalidAmount as refused:
        refused_field = refused.field
    if refused_field is not None:
        assert refused_field in {"amount", "currency"}
        return
    assert 0 < amount <= MAX_AMOUNT
    assert amount == amount.quantize(Decimal(1).scaleb(-checked.minor_units))  # exact
    apply_discount(checked, 30)  # and usable without any error


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=5,
)


@settings(max_examples=400, deadline=None)
@given(
    amount=JSON_VALUES | ANY_DECIMAL | st.from_regex(r"-?[0-9]{0,40}(\.[0-9]{0,40})?"),
    currency=st.text(max_size=4) | st.sampled_from(CURRENCIES),
)
def test_parsing_a_redemption_raises_only_validation_or_amount_errors(
    amount: object, currency: str
) -> None:
    try:
        request = RedeemRequest.model_validate(
            {"amount": amount, "currency": currency, "purchase_id": "p-1"}
        )
        check_amount(request.amount, request.currency)
    except (ValidationError, InvalidAmount):
        return


@pytest.mark.parametrize("text", ["1e-9999999999", "1E-400", "-1e-9999999999", "0E+99"])
def test_amounts_that_underflow_to_zero_are_refused(text: str) -> None:
    with pytest.raises(InvalidAmount):
        check_amount(Decimal(text), "EUR")
