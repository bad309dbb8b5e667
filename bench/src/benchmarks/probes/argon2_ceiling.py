"""Argon2 verifications/s of the login service's own configured hasher, in N processes.

Runs in the login service's environment (it imports the service's password module):
``uv run --project login_service python bench/src/benchmarks/probes/argon2_ceiling.py``.
Prints one JSON line: the rate, the parameters, and a hash of ``--password`` made by the
same hasher (the seeded accounts' hash).
"""

import argparse
import asyncio
import json
import multiprocessing
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from login_service.config import Settings
from login_service.guard.passwords import PasswordHasher


def _verify_for(
    seconds: float, stored_hash: str, password: str, ready: Barrier
) -> tuple[int, float]:
    hasher = PasswordHasher.from_settings(Settings())

    async def loop() -> tuple[int, float]:
        # Every process has imported and built its hasher before any starts: on a busy
        # machine start-up alone can take seconds.
        ready.wait()
        started = time.time()
        done = 0
        while time.time() < started + seconds:
            result = await hasher.verify(password, stored_hash)
            if not result.ok:
                raise RuntimeError("verification of the probe hash failed")
            done += 1
        return done, time.time() - started

    return asyncio.run(loop())


def _child(seconds: float, stored_hash: str, password: str, ready: Barrier, out: Queue) -> None:  # type: ignore[type-arg]
    out.put(_verify_for(seconds, stored_hash, password, ready))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()

    settings = Settings()
    hasher = PasswordHasher.from_settings(settings)
    stored_hash = asyncio.run(hasher.hash(args.password))
    context = multiprocessing.get_context("spawn")
    results: Queue = context.Queue()  # type: ignore[type-arg]
    ready = context.Barrier(args.processes)
    children = [
        context.Process(
            target=_child, args=(args.seconds, stored_hash, args.password, ready, results)
        )
        for _ in range(args.processes)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=args.seconds + 120) for _ in children]
    for child in children:
        child.join()
    verifications = sum(done for done, _ in outcomes)
    wall = max(took for _, took in outcomes)
    print(
        json.dumps(
            {
                "verifications": verifications,
                "seconds": wall,
                "per_second": verifications / wall,
                "processes": args.processes,
                "memory_cost_kib": settings.argon2_memory_cost_kib,
                "time_cost": settings.argon2_time_cost,
                "parallelism": settings.argon2_parallelism,
                "hash": stored_hash,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
