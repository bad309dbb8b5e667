"""Wall time of a failed password check, by what the check met: an unknown identifier (the
dummy hash), a wrong password at a hash of the current parameters, and one at a hash made
before the parameters were raised, with the service's padding and, for comparison, bare (one
verification of that hash alone: what the check cost before the padding existed).

Runs in the login service's environment (it imports the service's password module):
``uv run --project login_service python bench/src/benchmarks/probes/failure_timing.py``.
The current parameters are the service's defaults with one more pass (``--raise-passes``);
the old hash is made at the defaults. Prints one JSON line: the median milliseconds of each
kind over ``--rounds`` rounds of ``--per-round`` checks, the kinds interleaved per round.
"""

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

from login_service.config import Settings
from login_service.guard.passwords import PasswordHasher

PASSWORD = "the owner's own password"  # noqa: S105 - a probe's password
WRONG = "a guess"


async def _median_ms(check: Callable[[], Awaitable[None]], per_round: int) -> float:
    times = []
    for _ in range(per_round):
        started = time.perf_counter()
        await check()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(rounds: int, per_round: int, raise_passes: int) -> dict[str, object]:
    defaults = Settings()
    old = PasswordHasher(
        memory_cost_kib=defaults.argon2_memory_cost_kib,
        time_cost=defaults.argon2_time_cost,
        parallelism=defaults.argon2_parallelism,
    )
    current = PasswordHasher(
        memory_cost_kib=defaults.argon2_memory_cost_kib,
        time_cost=defaults.argon2_time_cost + raise_passes,
        parallelism=defaults.argon2_parallelism,
    )
    old_hash, current_hash = await old.hash(PASSWORD), await current.hash(PASSWORD)

    async def failing(hasher: PasswordHasher, stored: str | None) -> None:
        result = await hasher.verify(WRONG, stored)
        if result.ok:
            raise RuntimeError("the probe's wrong password verified")

    kinds: dict[str, Callable[[], Awaitable[None]]] = {
        "unknown_identifier": lambda: failing(current, None),
        "current_hash": lambda: failing(current, current_hash),
        "old_hash_padded": lambda: failing(current, old_hash),
        "old_hash_bare": lambda: failing(old, old_hash),
    }
    medians: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, check in kinds.items():
            medians[name].append(await _median_ms(check, per_round))
    old.close()
    current.close()
    return {
        "median_ms": {name: statistics.median(values) for name, values in medians.items()},
        "old_parameters": f"m={defaults.argon2_memory_cost_kib},t={defaults.argon2_time_cost}",
        "current_parameters": (
            f"m={defaults.argon2_memory_cost_kib},t={defaults.argon2_time_cost + raise_passes}"
        ),
        "rounds": rounds,
        "per_round": per_round,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=6)
    parser.add_argument("--raise-passes", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.rounds, args.per_round, args.raise_passes))))


if __name__ == "__main__":
    main()
