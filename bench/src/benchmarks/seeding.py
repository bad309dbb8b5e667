"""Accounts for a run: through the stand-in's own engine (server stopped), or the driver.

Through the stand-in's wire server one ``insert_many`` of 2,000 accounts took 67 s when
measured, so its accounts go in through its engine while no server has the file open
(``probes/standin_seed.py``). On a MongoDB server of the caller's, ``insert_many``
through the driver is the quick way.
"""

import json
import time
from pathlib import Path

from benchmarks.mongo_target import seed_accounts
from benchmarks.stack import Stack


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
        total, _ = await seed_accounts(
            stack.mongodb_uri, stack.login_database, start, count, password_hash, batch
        )
    else:
        line = await stack.run_probe(
            "tools/mongo-standin",
            "standin_seed.py",
            "--path",
            str(path),
            "--database",
            stack.login_database,
            "--start",
            str(start),
            "--count",
            str(count),
            "--hash",
            password_hash,
            "--batch",
            str(batch),
        )
        total = json.loads(line)["accounts_total"]
    if total != start + count + registered:
        expected = start + count + registered
        raise RuntimeError(f"login database holds {total} accounts, expected {expected}")
    return time.perf_counter() - started
