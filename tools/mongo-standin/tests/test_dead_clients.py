"""A client that dies, mid-transaction or while waiting, does not freeze the server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

Client = AsyncMongoClient[dict[str, Any]]

# A client process: with TRANSACTION=1 it opens a transaction, writes, and hangs;
# otherwise it connects, then on a line of input issues one plain write (which may
# have to wait) and hangs.
_CLIENT = """
import asyncio, os, sys
from pymongo import AsyncMongoClient

async def main():
    client = AsyncMongoClient(sys.argv[1])
    items = client[sys.argv[2]].items
    await items.find_one({})
    if os.environ.get("TRANSACTION") == "1":
        session = client.start_session()
        await session.start_transaction()
        await items.insert_one({"_id": "from-dead-transaction"}, session=session)
        print("IN-TRANSACTION", flush=True)
    else:
        print("CONNECTED", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await items.insert_one({"_id": "from-dead-waiter"})
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.fixture
def client_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(uri: str, database: str, *, transaction: bool) -> subprocess.Popen[str]:
        env = {**os.environ, "TRANSACTION": "1" if transaction else "0"}
        process = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, uri, database],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def test_transaction_of_a_killed_client_is_aborted_after_the_lifetime_limit(
    start_server: Callable[..., str],
    client_process: Callable[..., subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    uri = start_server(tmp_path / "d.sqlite3", "--transaction-lifetime", "2")
    database = f"t_{uuid.uuid4().hex}"
    dead = client_process(uri, database, transaction=True)
    assert dead.stdout is not None
    assert await asyncio.to_thread(dead.stdout.readline) == "IN-TRANSACTION\n"
    dead.send_signal(signal.SIGKILL)
    dead.wait(timeout=10)

    mongo: Client = AsyncMongoClient(uri)
    started = time.monotonic()
    await asyncio.wait_for(mongo[database].items.insert_one({"_id": "alive"}), timeout=20)
    assert time.monotonic() - started < 15
    assert await mongo[database].items.distinct("_id") == ["alive"]
    await mongo.close()


async def test_request_of_a_client_that_died_while_waiting_is_never_run(
    standin_uri: str,
    client: Client,
    client_process: Callable[..., subprocess.Popen[str]],
) -> None:
    database = f"t_{uuid.uuid4().hex}"
    items = client[database].items
    await items.insert_one({"_id": "first"})
    waiter = client_process(standin_uri, database, transaction=False)
    assert waiter.stdout is not None and waiter.stdin is not None
    assert await asyncio.to_thread(waiter.stdout.readline) == "CONNECTED\n"
    async with client.start_session() as session:
        await session.start_transaction()
        await items.insert_one({"_id": "holder"}, session=session)
        waiter.stdin.write("write\n")
        waiter.stdin.flush()
        await asyncio.sleep(0.5)  # its insert is now waiting for this transaction
        waiter.send_signal(signal.SIGKILL)
        waiter.wait(timeout=10)
        await asyncio.sleep(0.3)
        await session.commit_transaction()

    await asyncio.sleep(0.5)
    assert sorted(await items.distinct("_id")) == ["first", "holder"]
    # The server is not left holding anything: a new transaction and a plain write go through.
    async with client.start_session() as session:
        await session.with_transaction(lambda s: items.insert_one({"_id": "after"}, session=s))
    await asyncio.wait_for(items.insert_one({"_id": "plain"}), timeout=10)
    assert await items.count_documents({}) == 4
