"""Vouchers for the redemption step: seeded through the driver, removed after it."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pymongo import AsyncMongoClient

from benchmarks.stack import Stack

REDEEM_CAMPAIGN_PREFIX = "bench-redeem-"


def account_of(token: str) -> str:
    """The account a token names (its ``sub``); the token was just issued by the service."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims["sub"])


async def seed_vouchers(stack: Stack, tokens: list[str], count: int) -> list[tuple[str, str]]:
    """``count`` active vouchers spread over the tokens' accounts; (token, voucher id) pairs.

    Each lives in a campaign of its own (one voucher per account and campaign is unique).
    """
    now = datetime.now(UTC)
    docs, pairs = [], []
    for index in range(count):
        token = tokens[index % len(tokens)]
        voucher_id = str(uuid.uuid4())
        docs.append(
            {
                "_id": voucher_id,
                "campaign_id": f"{REDEEM_CAMPAIGN_PREFIX}{voucher_id}",
                "account_id": account_of(token),
                "slot": 1,
                "discount_percent": 30,
                "status": "active",
                "granted_at": now,
                "expires_at": now + timedelta(days=30),
                "event_id": str(uuid.uuid4()),
                "first_login_at": now,
            }
        )
        pairs.append((token, voucher_id))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        await client[stack.promotion_database]["vouchers"].insert_many(docs)
    finally:
        await client.close()
    return pairs


async def delete_seeded_vouchers(stack: Stack) -> None:
    """The redeemed vouchers would otherwise lengthen the next size's voucher lists."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        await client[stack.promotion_database]["vouchers"].delete_many(
            {"campaign_id": {"$regex": f"^{REDEEM_CAMPAIGN_PREFIX}"}}
        )
    finally:
        await client.close()
