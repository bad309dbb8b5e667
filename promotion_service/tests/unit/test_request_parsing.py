"""Request-body parsing rules that need no server."""

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from promotion_service.decimal_json import DUPLICATE_KEY_MESSAGE, loads_request_json
from promotion_service.middleware import request_id_from
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
    for insane in ("a" * 129, "with space", "ünï", "", None, "a\nb", "trailing-newline\n"):
        replaced = request_id_from(insane)
        assert replaced != insane
        assert len(replaced) == 32


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount": "1", "amount": "1"}',
        b'{"a": {"b": 1, "c": 2, "b": 3}}',
        b'[{"ok": 1}, {"x": [{"y": 1, "y": 2}]}]',
        b'{"\\u0061": 1, "a": 2}',  # the same key, once escaped
    ],
)
def test_a_repeated_key_at_any_depth_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError, match=DUPLICATE_KEY_MESSAGE):
        loads_request_json(body)


def test_equal_keys_in_different_objects_are_no_duplicate_and_numbers_stay_exact() -> None:
    assert loads_request_json(b'[{"a": 0.1}, {"a": {"a": 2}}]') == [
        {"a": Decimal("0.1")},
        {"a": {"a": Decimal(2)}},
    ]
