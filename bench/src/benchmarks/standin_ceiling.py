"""The database's own ceiling: transactions shaped like the voucher claim, with no service around.

Three reads and three writes (two inserts, one conditional ``$inc``) in one
transaction, on a scratch database of the same server, run by ``concurrency``
sessions for a fixed time. One at a time it gives the time of one transaction (the
unit of the latency ratio); concurrently it gives transactions/s (the unit of the
consumer throughput ratio).
"""

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

SCRATCH_DATABASE = "bench_ceiling"


@dataclass(frozen=True, slots=True)
class Ceiling:
    concurrency: int
    transactions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds

    @property
    def mean_seconds(self) -> float:
        """Mean wall time of one transaction (meaningful with concurrency 1)."""
        return self.seconds * self.concurrency / self.transactions


async def measure_ceiling(uri: str, concurrency: int, seconds: float) -> Ceiling:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[SCRATCH_DATABASE]
    try:
        await db["campaigns"].update_one(
            {"_id": "ceiling"}, {"$setOnInsert": {"slots_claimed": 0}}, upsert=True
        )
        await db["vouchers"].create_index([("campaign_id", 1), ("account_id", 1)], unique=True)

        async def claim_shaped(session: AsyncClientSession) -> None:
            event_id = str(uuid.uuid4())
            await db["processed"].find_one({"_id": event_id}, session=session)
            await db["campaigns"].find_one({"_id": "ceiling"}, session=session)
            await db["vouchers"].find_one(
                {"campaign_id": "ceiling", "account_id": event_id}, session=session
            )
            await db["processed"].insert_one({"_id": event_id}, session=session)
            await db["vouchers"].insert_one(
                {"campaign_id": "ceiling", "account_id": event_id}, session=session
            )
            await db["campaigns"].update_one(
                {"_id": "ceiling", "slots_claimed": {"$gte": 0}},
                {"$inc": {"slots_claimed": 1}},
                session=session,
            )

        done = 0
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal done
            async with client.start_session() as session:
                while time.perf_counter() < deadline:
                    await session.with_transaction(
                        claim_shaped,
                        read_concern=ReadConcern("snapshot"),
                        write_concern=WriteConcern("majority"),
                    )
                    done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - started
        await client.drop_database(SCRATCH_DATABASE)  # on a server of the caller's too
    finally:
        await client.close()
    return Ceiling(concurrency=concurrency, transactions=max(done, 1), seconds=took)


@dataclass(frozen=True, slots=True)
class OperationRate:
    updates: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


async def _account_ids(
    accounts: AsyncCollection[dict[str, Any]], usernames: list[str]
) -> list[Any]:
    """The ids of the accounts the load logs in, in the order the database returns them."""
    return [
        doc["_id"] async for doc in accounts.find({"username_key": {"$in": usernames}}, {"_id": 1})
    ]


async def measure_account_updates(
    uri: str, database: str, usernames: list[str], seconds: float
) -> OperationRate:
    """Single-account updates/s on the login database, as a non-first login writes them.

    Context for the login figure: on the stand-in the cost of one write grows with
    the collection, so this ceiling moves with the number of accounts.
    """
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    accounts = client[database]["accounts"]
    try:
        ids = await _account_ids(accounts, usernames)
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            now = datetime.now(UTC)
            await accounts.update_one(
                {"_id": ids[done % len(ids)]}, {"$max": {"last_login_at": now}}
            )
            done += 1
        took = time.perf_counter() - started
    finally:
        await client.close()
    return OperationRate(done, took)


async def measure_account_reads(
    uri: str, database: str, usernames: list[str], seconds: float, concurrency: int
) -> OperationRate:
    """Account reads by id/s on the login database (what ``/v1/accounts/me`` does), alone."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    accounts = client[database]["accounts"]
    try:
        ids = await _account_ids(accounts, usernames)
        done = 0
        started = time.perf_counter()

        async def reader() -> None:
            nonlocal done
            while time.perf_counter() - started < seconds:
                await accounts.find_one({"_id": ids[done % len(ids)]})
                done += 1

        await asyncio.gather(*(reader() for _ in range(concurrency)))
        took = time.perf_counter() - started
    finally:
        await client.close()
    return OperationRate(done, took)
