"""Request-body parsing rules that need no server."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from promotion_service.http_middleware import request_id_from
from promotion_service.vouchers.schemas import RedeemRequest


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("10.50", Decimal("10.50")), (Decimal("10.5"), Decimal("10.5")), (7, Decimal(7))],
)
def test_amounts_are_taken_exactly(amount: object, expected: Decimal) -> None:
    body = RedeemRequest.model_validate({"amount": amount, "currency": "EUR", "purchase_id": "p"})

    assert body.amount == expected


@pytest.mark.parametrize(
    "amount", [10.5, True, "1e3", "10,5", " 10", "", "0x10", None, [], "\u0661\u0660"]
)
def test_lossy_or_odd_amounts_are_refused(amount: object) -> None:
    with pytest.raises(ValidationError):
        RedeemRequest.model_validate({"amount": amount, "currency": "EUR", "purchase_id": "p"})


def test_a_sane_request_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_from("abc.DEF-1_2") == "abc.DEF-1_2"
    assert request_id_from("a" * 128) == "a" * 128
    for insane in ("a" * 129, "with space", "ünï", "", None, "a\nb"):
        replaced = request_id_from(insane)
        assert replaced != insane
        assert len(replaced) == 32
