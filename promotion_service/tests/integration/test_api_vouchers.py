"""Voucher listing and redemption through the HTTP API (real MongoDB, real JWKS server)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from promotion_service import create_app
from promotion_service.config import Settings
from promotion_service.db import VOUCHERS, Database
from tests.integration.api_fixtures import Keys, assert_problem, bearer, insert_voucher, started
from tests.jwks_server import make_token


async def test_listing_shows_only_the_token_subjects_vouchers(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    mine = await insert_voucher(db, "acct-me", slot=1)
    await insert_voucher(db, "acct-other", slot=2)
    expired = await insert_voucher(
        db, "acct-me", slot=3, campaign_id="older", expires_in=timedelta(days=-1)
    )

    response = await client.get("/v1/vouchers", headers=bearer(make_token(keys.rs256, "acct-me")))

    assert response.status_code == 200
    by_id = {voucher["id"]: voucher for voucher in response.json()}
    assert set(by_id) == {mine, expired}
    assert by_id[mine]["status"] == "active"
    assert by_id[mine]["discount_percent"] == 30
    assert by_id[mine]["campaign_id"] == "first-login"
    assert by_id[mine]["slot"] == 1
    assert {"granted_at", "expires_at"} <= by_id[mine].keys()
    assert by_id[expired]["status"] == "expired"
    # Personal, financial data: never cached, never sniffed.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("100.00", "EUR", ("100.00", "30.00", "70.00")),
        ("0.05", "EUR", ("0.05", "0.02", "0.03")),  # 0.015 rounds half-even to 0.02
        ("0.25", "EUR", ("0.25", "0.08", "0.17")),  # 0.075 rounds half-even to 0.08
        ("1001", "JPY", ("1001", "300", "701")),  # JPY has no minor unit
        (1005, "JPY", ("1005", "302", "703")),  # 301.5 rounds half-even to 302
        (19.99, "USD", ("19.99", "6.00", "13.99")),  # a JSON number, parsed exactly
        ("12.5", "KWD", ("12.500", "3.750", "8.750")),  # three decimals
    ],
)
async def test_redeeming_applies_the_discount_rounded_half_even_to_the_minor_unit(
    client: httpx.AsyncClient,
    db: Database,
    keys: Keys,
    amount: object,
    currency: str,
    expected: tuple[str, str, str],
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        json={"amount": amount, "currency": currency, "purchase_id": "p-1"},
        headers=bearer(make_token(keys.es256, "acct-me")),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["original_amount"], body["discount_amount"], body["final_amount"]) == expected
    assert body["currency"] == currency
    assert "redeemed_at" in body
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "redeemed"


async def test_redeeming_again_for_the_same_purchase_returns_the_first_result(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    headers = bearer(make_token(keys.rs256, "acct-me"))
    url = f"/v1/vouchers/{voucher_id}/redeem"
    first = await client.post(
        url, json={"amount": "100.00", "currency": "EUR", "purchase_id": "p-1"}, headers=headers
    )

    again = await client.post(
        url, json={"amount": "100", "currency": "EUR", "purchase_id": "p-1"}, headers=headers
    )

    assert first.status_code == 200
    assert again.status_code == 200
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("amount", "currency"), [("999.00", "EUR"), ("100.01", "EUR"), ("100.00", "USD")]
)
async def test_the_same_purchase_with_another_amount_or_currency_is_a_conflict(
    client: httpx.AsyncClient, db: Database, keys: Keys, amount: str, currency: str
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    headers = bearer(make_token(keys.rs256, "acct-me"))
    url = f"/v1/vouchers/{voucher_id}/redeem"
    first = await client.post(
        url, json={"amount": "100.00", "currency": "EUR", "purchase_id": "p-1"}, headers=headers
    )

    again = await client.post(
        url, json={"amount": amount, "currency": currency, "purchase_id": "p-1"}, headers=headers
    )

    assert first.status_code == 200
    assert_problem(again, 409, "purchase-redeemed-with-other-amount")
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["redemption"]["original_amount"] == "100.00"


async def test_concurrent_redemptions_for_one_purchase_all_get_the_one_result(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    headers = bearer(make_token(keys.rs256, "acct-me"))
    body = {"amount": "40.00", "currency": "EUR", "purchase_id": "p-once"}

    responses = await asyncio.gather(
        *(
            client.post(f"/v1/vouchers/{voucher_id}/redeem", json=body, headers=headers)
            for _ in range(5)
        )
    )

    assert [response.status_code for response in responses] == [200] * 5
    assert len({response.text for response in responses}) == 1
    assert responses[0].json()["final_amount"] == "28.00"


async def test_redeeming_for_another_purchase_is_a_conflict(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    headers = bearer(make_token(keys.rs256, "acct-me"))
    url = f"/v1/vouchers/{voucher_id}/redeem"
    await client.post(
        url, json={"amount": "10.00", "currency": "EUR", "purchase_id": "p-1"}, headers=headers
    )

    other = await client.post(
        url, json={"amount": "10.00", "currency": "EUR", "purchase_id": "p-2"}, headers=headers
    )

    assert_problem(other, 409, "voucher-already-redeemed")


async def test_redeeming_an_expired_voucher_is_gone(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me", expires_in=timedelta(seconds=-1))

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        json={"amount": "10.00", "currency": "EUR", "purchase_id": "p-1"},
        headers=bearer(make_token(keys.rs256, "acct-me")),
    )

    assert_problem(response, 410, "voucher-expired")
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "active"


@pytest.mark.parametrize("voucher_owner", ["acct-other", None])
async def test_someone_elses_or_a_missing_voucher_is_not_found(
    client: httpx.AsyncClient, db: Database, keys: Keys, voucher_owner: str | None
) -> None:
    voucher_id = "no-such-voucher"
    if voucher_owner:
        voucher_id = await insert_voucher(db, voucher_owner)

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        json={"amount": "10.00", "currency": "EUR", "purchase_id": "p-1"},
        headers=bearer(make_token(keys.rs256, "acct-me")),
    )

    problem = assert_problem(response, 404, "voucher-not-found")
    assert problem["title"] == "Voucher not found"
    if voucher_owner:
        stored = await db[VOUCHERS].find_one({"_id": voucher_id})
        assert stored is not None
        assert stored["status"] == "active"


async def test_concurrent_redemptions_for_different_purchases_have_one_winner(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    headers = bearer(make_token(keys.rs256, "acct-me"))

    responses = await asyncio.gather(
        *(
            client.post(
                f"/v1/vouchers/{voucher_id}/redeem",
                json={"amount": "50.00", "currency": "EUR", "purchase_id": f"p-{n}"},
                headers=headers,
            )
            for n in range(6)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 5
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    winner = next(r for r in responses if r.status_code == 200).json()
    assert stored["redemption"]["purchase_id"] == winner["purchase_id"]


BAD_BODIES = [
    {"amount": "0", "currency": "EUR", "purchase_id": "p"},
    {"amount": "-5.00", "currency": "EUR", "purchase_id": "p"},
    {"amount": "10.001", "currency": "EUR", "purchase_id": "p"},
    {"amount": "10.5", "currency": "JPY", "purchase_id": "p"},
    {"amount": "1e5", "currency": "EUR", "purchase_id": "p"},
    {"amount": " 10", "currency": "EUR", "purchase_id": "p"},
    {"amount": "NaN", "currency": "EUR", "purchase_id": "p"},
    {"amount": "10000000000", "currency": "EUR", "purchase_id": "p"},
    {"amount": True, "currency": "EUR", "purchase_id": "p"},
    {"amount": None, "currency": "EUR", "purchase_id": "p"},
    {"amount": ["10"], "currency": "EUR", "purchase_id": "p"},
    {"amount": "10.00", "currency": "ZZZ", "purchase_id": "p"},
    {"amount": "10.00", "currency": "eur", "purchase_id": "p"},
    {"amount": "10.00", "currency": 978, "purchase_id": "p"},
    {"amount": "10.00", "currency": "EUR", "purchase_id": ""},
    {"amount": "10.00", "currency": "EUR", "purchase_id": "p" * 129},
    {"amount": "10.00", "currency": "EUR", "purchase_id": "p\u202e1"},
    {"amount": "10.00", "currency": "EUR"},
    {"amount": "10.00", "currency": "EUR", "purchase_id": "p", "extra": 1},
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_redemption_input_is_422_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, keys: Keys, body: dict[str, object]
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        json=body,
        headers=bearer(make_token(keys.rs256, "acct-me")),
    )

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"]
    for error in problem["errors"]:
        assert error.keys() == {"field", "message", "type"}
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "active"


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"amount": NaN, "currency": "EUR", "purchase_id": "p"}',
        b"[]",
        b'"x"',
        b"\xff'\x0c\x07",  # not UTF-8: found by the API fuzzer as an undocumented 400
        b"[" * 2_000 + b"]" * 2_000,  # nested beyond the parser's depth, within the size limit
    ],
)
async def test_malformed_json_is_422(
    client: httpx.AsyncClient, db: Database, keys: Keys, raw: bytes
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        content=raw,
        headers={**bearer(make_token(keys.rs256, "acct-me")), "Content-Type": "application/json"},
    )

    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    "amount",
    [
        b"1e-9999999999",
        b"1E-400",
        b"0.0000000000000000000000000000000000000000001",
        b"0.00",
        b"-0",
        b"0e5",
        b"-1e-9999999999",
        b"1.001",
        b"1" + b"0" * 39 + b"E-41",  # 0.01, written past the digit and exponent bound
    ],
)
async def test_a_json_number_that_is_no_exact_positive_amount_is_422_and_spends_nothing(
    client: httpx.AsyncClient, db: Database, keys: Keys, amount: bytes
) -> None:
    """1e-9999999999 once passed as a price of zero and spent the voucher on nothing."""
    voucher_id = await insert_voucher(db, "acct-me")
    raw = b'{"amount": ' + amount + b', "currency": "EUR", "purchase_id": "p-tiny"}'

    response = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        content=raw,
        headers={**bearer(make_token(keys.rs256, "acct-me")), "Content-Type": "application/json"},
    )

    problem = assert_problem(response, 422, "validation-error")
    assert [error["field"] for error in problem["errors"]] == ["amount"]
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "active"
    assert "redemption" not in stored


async def test_a_number_with_thousands_of_digits_is_422_not_a_parse_error(
    api_settings: Settings, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    raw = b'{"amount": ' + b"9" * 5000 + b', "currency": "EUR", "purchase_id": "p"}'
    app = create_app(api_settings.model_copy(update={"max_body_bytes": 16_384}))
    async with started(app, "http://t") as c:
        response = await c.post(
            f"/v1/vouchers/{voucher_id}/redeem",
            content=raw,
            headers={
                **bearer(make_token(keys.rs256, "acct-me")),
                "Content-Type": "application/json",
            },
        )

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] == [
        {"field": "amount", "message": "amount must not exceed 1000000000", "type": "value_error"}
    ]


async def test_an_oversized_body_is_413_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    body = b'{"amount": "10.00", "currency": "EUR", "purchase_id": "' + b"p" * 5000 + b'"}'
    headers = {**bearer(make_token(keys.rs256, "acct-me")), "Content-Type": "application/json"}

    declared = await client.post(f"/v1/vouchers/{voucher_id}/redeem", content=body, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    streamed = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem", content=chunks(), headers=headers
    )

    for response in (declared, streamed):
        problem = assert_problem(response, 413, "payload-too-large")
        assert problem["detail"] == "The request body must not exceed 4096 bytes."
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "active"
