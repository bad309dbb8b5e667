"""Argon2id password hashing (pwdlib), off the event loop, with a dummy hash for unknown users."""

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from login_service.config import Settings
from login_service.guard.password_policy import normalize_password


def default_hashing_threads(workers: int) -> int:
    """The CPUs this process may use, shared among the service's worker processes."""
    return max(1, (os.process_cpu_count() or 1) // workers)


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of a password check; ``new_hash`` is set when the parameters changed."""

    ok: bool
    new_hash: str | None = field(default=None, repr=False)


class PasswordHasher:
    """Hashes and verifies passwords with the configured Argon2id parameters.

    Argon2 releases the GIL, so hashing runs in worker threads and the event loop
    keeps serving other requests meanwhile. The threads are this hasher's own, at most
    ``threads`` of them (by default the process's share of the CPUs among the service's
    workers, ``LOGIN_WORKERS``): a crowd of logins waits its turn instead of running
    dozens of hashes at once, each holding its memory cost and all of them evicting each
    other's memory from the CPU caches, which costs more CPU per hash (measured: a
    quarter more with four hashes per core than with one).
    """

    def __init__(
        self, *, memory_cost_kib: int, time_cost: int, parallelism: int, threads: int = 1
    ) -> None:
        self._threads = threads
        self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="argon2")
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    memory_cost=memory_cost_kib, time_cost=time_cost, parallelism=parallelism
                ),
            )
        )
        # Verified against when the account does not exist, so that an unknown
        # identifier costs exactly the work of a wrong password.
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(24))

    @classmethod
    def from_settings(cls, settings: Settings) -> "PasswordHasher":
        return cls(
            memory_cost_kib=settings.argon2_memory_cost_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            threads=settings.argon2_threads or default_hashing_threads(settings.workers),
        )

    @property
    def threads(self) -> int:
        return self._threads

    def close(self) -> None:
        """Stop the hashing threads (hashes already running finish; queued ones are dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run[T](self, function: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, normalize_password(password))

    async def verify(self, password: str, stored_hash: str | None) -> Verification:
        """Verify ``password``; with no stored hash, do the same work and fail."""
        target = stored_hash if stored_hash is not None else self._dummy_hash
        ok, new_hash = await self._run(
            self._hash.verify_and_update, normalize_password(password), target
        )
        if stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=ok, new_hash=new_hash)
