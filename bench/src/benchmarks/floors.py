"""The floor of a password operation: one Argon2id hash or verification, with the login
service's parameters, as CPU time of this process (the median of batches)."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from pwdlib.hashers.argon2 import Argon2Hasher

MEMORY_COST_KIB = 19456  # OWASP's minimum for Argon2id: m=19 MiB, t=2, p=1
TIME_COST = 2
PARALLELISM = 1


@dataclass(frozen=True, slots=True)
class Argon2Floor:
    verify_cpu: float  # seconds of CPU for one verification
    hash_cpu: float  # seconds of CPU for one hash
    memory_cost_kib: int = MEMORY_COST_KIB
    time_cost: int = TIME_COST
    parallelism: int = PARALLELISM


def measure_argon2(password: str, batches: int = 5, per_batch: int = 4) -> Argon2Floor:
    hasher = Argon2Hasher(memory_cost=MEMORY_COST_KIB, time_cost=TIME_COST, parallelism=PARALLELISM)
    stored = hasher.hash(password)
    if not hasher.verify(password, stored):
        raise RuntimeError("Argon2 verification of a fresh hash failed")

    def median_cpu(operation: Callable[[], object]) -> float:
        samples = []
        for _ in range(batches):
            started = time.process_time()
            for _ in range(per_batch):
                operation()
            samples.append((time.process_time() - started) / per_batch)
        return statistics.median(samples)

    return Argon2Floor(
        verify_cpu=median_cpu(lambda: hasher.verify(password, stored)),
        hash_cpu=median_cpu(lambda: hasher.hash(password)),
    )
