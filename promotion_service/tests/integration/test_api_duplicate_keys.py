"""A redemption body that repeats a key is refused with the 422 validation problem naming the
body, even when both values are valid, and the voucher is not spent (SPEC section 5)."""

import httpx
import pytest

from promotion_service.db import VOUCHERS, Database
from tests.integration.api_fixtures import Keys, assert_problem, bearer, insert_voucher
from tests.jwks_server import make_token

VALID_BUT_FOR_A_DUPLICATE = {
    "amount": b'{"amount": "1.00", "amount": "900.00", "currency": "EUR", "purchase_id": "p"}',
    "purchase_id": b'{"purchase_id": "p-1", "amount": "10.00", "currency": "EUR", '
    b'"purchase_id": "p-2"}',
    "currency": b'{"currency": "JPY", "amount": "10.00", "currency": "EUR", "purchase_id": "p"}',
}


@pytest.mark.parametrize(
    "raw", VALID_BUT_FOR_A_DUPLICATE.values(), ids=list(VALID_BUT_FOR_A_DUPLICATE)
)
async def test_a_redemption_valid_but_for_a_duplicate_key_is_422_and_spends_nothing(
    client: httpx.AsyncClient, db: Database, keys: Keys, raw: bytes
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        content=raw,
        headers={**bearer(make_token(keys.rs256, "acct-me")), "Content-Type": "application/json"},
    )

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] == [
        {
            "field": "body",
            "message": "body has a duplicate key in a JSON object",
            "type": "json_invalid",
        }
    ]
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "active"
    assert "redemption" not in stored
