"""Seed accounts into the stand-in's SQLite file through its own engine (server stopped).

Runs in the stand-in's environment:
``uv run --project tools/mongo-standin python bench/src/benchmarks/probes/standin_seed.py``.
Through the wire server one ``insert_many`` of 2,000 accounts took 67 s when measured,
so 10^5 accounts go in through the engine's ``insert_many`` instead (about 1,000/s),
while no server has the file open. Documents have the shape the login service writes
at registration; every account shares one precomputed password hash.
"""

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime

from mongoeco import MongoClient
from mongoeco.engines.sqlite import SQLiteEngine


def account(index: int, password_hash: str, now: datetime) -> dict[str, object]:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--hash", required=True)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()

    client = MongoClient(engine=SQLiteEngine(args.path))
    accounts = client[args.database]["accounts"]
    now = datetime.now(UTC)
    started = time.perf_counter()
    done = 0
    try:
        while done < args.count:
            size = min(args.batch, args.count - done)
            first = args.start + done
            accounts.insert_many(
                [account(first + i, args.hash, now) for i in range(size)], ordered=False
            )
            done += size
            print(f"seeded {done}/{args.count}", file=sys.stderr, flush=True)
        total = accounts.count_documents({})
    finally:
        client.close()
    took = time.perf_counter() - started
    print(json.dumps({"inserted": done, "seconds": took, "accounts_total": total}), flush=True)


if __name__ == "__main__":
    main()
