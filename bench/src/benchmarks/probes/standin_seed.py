"""Seed accounts into the stand-in's SQLite file through its own engine (server stopped).

Runs in the stand-in's environment; the documents come from ``benchmarks.seeding``.
"""

import argparse
import json
import sys
from pathlib import Path

from mongoeco import MongoClient
from mongoeco.engines.sqlite import SQLiteEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.seeding import account_batches


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    for name in ("path", "database", "hash"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("start", "count", "batch"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    client = MongoClient(engine=SQLiteEngine(args.path))
    accounts = client[args.database]["accounts"]
    done = 0
    try:
        for docs in account_batches(args.start, args.count, args.hash, args.batch):
            accounts.insert_many(docs, ordered=False)
            done += len(docs)
            print(f"seeded {done}/{args.count}", file=sys.stderr, flush=True)
        total = accounts.count_documents({})
    finally:
        client.close()
    print(json.dumps({"accounts_total": total}), flush=True)


if __name__ == "__main__":
    main()
