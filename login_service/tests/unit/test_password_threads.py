"""Argon2 runs on the hasher's own bounded threads: never more hashes at once than set."""

import asyncio
import os
import threading

import pytest

from login_service.config import Settings
from login_service.guard.passwords import PasswordHasher


async def _most_hashes_at_once(hasher: PasswordHasher, crowd: int) -> int:
    """Verify ``crowd`` passwords at once; return how many hashes ran at the same time."""
    running = 0
    most = 0
    lock = threading.Lock()
    original = hasher._hash.verify_and_update

    def counting(password: str | bytes, stored: str | bytes) -> tuple[bool, str | None]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return original(password, stored)
        finally:
            with lock:
                running -= 1

    hasher._hash.verify_and_update = counting  # type: ignore[method-assign, assignment]
    results = await asyncio.gather(*(hasher.verify("wrong", None) for _ in range(crowd)))
    assert not any(result.ok for result in results)
    return most


@pytest.mark.parametrize("threads", [1, 2])
async def test_a_crowd_of_verifications_runs_on_exactly_the_configured_threads(
    threads: int,
) -> None:
    hasher = PasswordHasher(memory_cost_kib=19456, time_cost=2, parallelism=1, threads=threads)
    try:
        assert await _most_hashes_at_once(hasher, crowd=6) == threads
    finally:
        hasher.close()


def test_the_default_shares_the_cpus_this_process_may_use_among_the_workers() -> None:
    cpus = os.process_cpu_count() or 1
    for workers, expected in ((1, cpus), (cpus, 1), (cpus * 4, 1)):
        hasher = PasswordHasher.from_settings(Settings(environment="development", workers=workers))
        try:
            assert hasher.threads == expected
        finally:
            hasher.close()
    configured = PasswordHasher.from_settings(Settings(environment="development", argon2_threads=3))
    try:
        assert configured.threads == 3
    finally:
        configured.close()


def test_the_setting_refuses_zero_threads() -> None:
    with pytest.raises(ValueError, match="argon2_threads"):
        Settings(environment="development", argon2_threads=0)
