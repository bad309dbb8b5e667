"""The database alone, with no service around (the units of the report's ratios): claim-shaped
transactions (three reads, three writes: two inserts and one conditional ``$inc``) on a
scratch database of the same server, and account updates and reads on the login database."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from benchmarks.mongo_target import connect

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


@dataclass(frozen=True, slots=True)
class OperationRate:
    updates: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


async def _repeat(
    seconds: float, concurrency: int, step: Callable[[int, int], Awaitable[object]]
) -> tuple[int, float]:
    """``step(worker, steps so far)`` in a loop in each of ``concurrency`` workers for
    ``seconds``; (steps, seconds taken)."""
    done = 0
    started = time.perf_counter()

    async def worker(index: int) -> None:
        nonlocal done
        while time.perf_counter() - started < seconds:
            await step(index, done)
            done += 1

    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    return done, time.perf_counter() - started


async def measure_ceiling(uri: str, concurrency: int, seconds: float) -> Ceiling:
    async with connect(uri) as client:
        db = client[SCRATCH_DATABASE]
        await db["campaigns"].update_one(
            {"_id": "ceiling"}, {"$setOnInsert": {"slots_claimed": 0}}, upsert=True
        )
        await db["vouchers"].create_index([("campaign_id", 1), ("account_id", 1)], unique=True)

        async def claim_shaped(session: AsyncClientSession) -> None:
            event_id = str(uuid.uuid4())
            voucher = {"campaign_id": "ceiling", "account_id": event_id}
            await db["processed"].find_one({"_id": event_id}, session=session)
            await db["campaigns"].find_one({"_id": "ceiling"}, session=session)
            await db["vouchers"].find_one(voucher, session=session)
            await db["processed"].insert_one({"_id": event_id}, session=session)
            await db["vouchers"].insert_one(voucher, session=session)
            await db["campaigns"].update_one(
                {"_id": "ceiling", "slots_claimed": {"$gte": 0}},
                {"$inc": {"slots_claimed": 1}},
                session=session,
            )

        sessions = [client.start_session() for _ in range(concurrency)]
        done, took = await _repeat(
            seconds,
            concurrency,
            lambda worker, _: sessions[worker].with_transaction(
                claim_shaped,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            ),
        )
        for session in sessions:
            await session.end_session()
        await client.drop_database(SCRATCH_DATABASE)  # on a server of the caller's too
    return Ceiling(concurrency=concurrency, transactions=max(done, 1), seconds=took)


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
    """Single-account updates/s, one at a time, as a non-first login writes them."""
    async with connect(uri) as client:
        accounts = client[database]["accounts"]
        ids = await _account_ids(accounts, usernames)
        done, took = await _repeat(
            seconds,
            1,
            lambda _, n: accounts.update_one(
                {"_id": ids[n % len(ids)]}, {"$max": {"last_login_at": datetime.now(UTC)}}
            ),
        )
    return OperationRate(done, took)


async def measure_account_reads(
    uri: str, database: str, usernames: list[str], seconds: float, concurrency: int
) -> OperationRate:
    """Account reads by id/s (what ``/v1/accounts/me`` does)."""
    async with connect(uri) as client:
        accounts = client[database]["accounts"]
        ids = await _account_ids(accounts, usernames)
        done, took = await _repeat(
            seconds, concurrency, lambda _, n: accounts.find_one({"_id": ids[n % len(ids)]})
        )
    return OperationRate(done, took)
