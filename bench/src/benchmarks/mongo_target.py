"""The database a run talks to: its own stand-in, or a MongoDB server named by ``MONGODB_URI``.

On a server of the caller's the run seeds through the driver (``insert_many`` of
prepared documents, one precomputed hash), names every database it creates after the
run, and drops them at the end.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pymongo import AsyncMongoClient


@dataclass(frozen=True, slots=True)
class ServerDescription:
    kind: str  # "stand-in" or "MongoDB"
    address: str  # host:port, never the credentials
    version: str  # buildInfo's version
    replica_set: str | None

    def label(self) -> str:
        if self.kind == "stand-in":
            return f"the run's own MongoDB wire stand-in (mongoeco, reporting {self.version})"
        replica = f", replica set `{self.replica_set}`" if self.replica_set else ""
        return f"MongoDB {self.version} at `{self.address}`{replica}"


def address_of(uri: str) -> str:
    """host:port of a mongodb:// URI, without user or password."""
    netloc = urlsplit(uri).netloc
    return netloc.rsplit("@", 1)[-1]


async def describe_server(uri: str, kind: str) -> ServerDescription:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        build = await client.admin.command("buildInfo")
        hello = await client.admin.command("hello")
    finally:
        await client.close()
    return ServerDescription(kind, address_of(uri), str(build["version"]), hello.get("setName"))


def account_document(index: int, password_hash: str, now: datetime) -> dict[str, object]:
    """An account as registration writes it (the stand-in probe builds the same shape)."""
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


async def seed_accounts(
    uri: str, database: str, start: int, count: int, password_hash: str, batch: int
) -> tuple[int, float]:
    """Insert accounts ``start .. start+count-1`` through the driver; (total, seconds)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    accounts = client[database]["accounts"]
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        done = 0
        while done < count:
            size = min(batch, count - done)
            docs = [account_document(start + done + i, password_hash, now) for i in range(size)]
            await accounts.insert_many(docs, ordered=False)
            done += size
        total = await accounts.count_documents({})
    finally:
        await client.close()
    return total, time.perf_counter() - started


async def drop_databases(uri: str, names: list[str]) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        for name in names:
            await client.drop_database(name)
    finally:
        await client.close()
