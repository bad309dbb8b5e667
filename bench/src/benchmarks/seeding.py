"""What a run seeds: accounts of the shape registration writes, and vouchers to redeem.

Accounts go in through the stand-in's own engine with its server stopped
(``probes/standin_seed.py``, which builds them with ``account_batches``), or through the
driver on a MongoDB server of the caller's. Only the standard library is imported at module
level: the probe runs in the stand-in's environment.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.stack import Stack

REDEEM_CAMPAIGN_PREFIX = "bench-redeem-"


def account_document(index: int, password_hash: str, now: datetime) -> dict[str, object]:
    """Seeded account ``index`` as registration writes it (every one shares one hash)."""
    username = f"seed{index:07d}"
    email = f"{username}@example.com"
    return {
        "_id": str(uuid.uuid4()),
        "username": username,
        "username_key": username,
        "email": email,
        "email_key": email,
        "phone": f"+4477{index:08d}",
        "full_name": None,
        "birthday": None,
        "password_hash": password_hash,
        "created_at": now,
    }


def account_batches(
    start: int, count: int, password_hash: str, batch: int
) -> Iterator[list[dict[str, object]]]:
    """Accounts ``start .. start+count-1`` in lists of at most ``batch``."""
    now = datetime.now(UTC)
    for first in range(start, start + count, batch):
        last = min(first + batch, start + count)
        yield [account_document(index, password_hash, now) for index in range(first, last)]


async def seed(
    stack: Stack,
    path: Path,
    start: int,
    count: int,
    password_hash: str,
    batch: int,
    registered: int = 0,
) -> float:
    """Add accounts ``start .. start+count-1`` to the login database, which already holds
    ``start`` seeded and ``registered`` registered accounts; the seconds it took."""
    started = time.perf_counter()
    if stack.external_mongodb_uri:
        from benchmarks.mongo_target import connect

        async with connect(stack.mongodb_uri) as client:
            accounts = client[stack.login_database]["accounts"]
            for docs in account_batches(start, count, password_hash, batch):
                await accounts.insert_many(docs, ordered=False)
            total = await accounts.count_documents({})
    else:
        options = {"path": path, "database": stack.login_database, "start": start}
        options |= {"count": count, "hash": password_hash, "batch": batch}
        argv = [f"--{name}={value}" for name, value in options.items()]
        line = await stack.run_probe("tools/mongo-standin", "standin_seed.py", *argv)
        total = json.loads(line)["accounts_total"]
    if total != start + count + registered:
        expected = start + count + registered
        raise RuntimeError(f"login database holds {total} accounts, expected {expected}")
    return time.perf_counter() - started


async def seed_vouchers(stack: Stack, tokens: list[str], count: int) -> list[tuple[str, str]]:
    """``count`` active vouchers spread over the accounts the tokens name (their ``sub``), each
    in a campaign of its own (one voucher per account and campaign); (token, voucher id) pairs.
    """
    import jwt

    from benchmarks.mongo_target import connect

    now = datetime.now(UTC)
    docs, pairs = [], []
    for index in range(count):
        token = tokens[index % len(tokens)]
        voucher_id = str(uuid.uuid4())
        docs.append(
            {
                "_id": voucher_id,
                "campaign_id": f"{REDEEM_CAMPAIGN_PREFIX}{voucher_id}",
                "account_id": str(jwt.decode(token, options={"verify_signature": False})["sub"]),
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
    async with connect(stack.mongodb_uri) as client:
        await client[stack.promotion_database]["vouchers"].insert_many(docs)
    return pairs


async def delete_seeded_vouchers(stack: Stack) -> None:
    """The redeemed vouchers would otherwise lengthen the next size's voucher lists."""
    from benchmarks.mongo_target import connect

    async with connect(stack.mongodb_uri) as client:
        await client[stack.promotion_database]["vouchers"].delete_many(
            {"campaign_id": {"$regex": f"^{REDEEM_CAMPAIGN_PREFIX}"}}
        )
