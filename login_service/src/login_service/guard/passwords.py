"""Argon2id password hashing (pwdlib), off the event loop, with a dummy hash for unknown users."""

import asyncio
import math
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from login_service.config import Settings
from login_service.guard.argon2_work import Argon2Parameters, hash_parameters, padding
from login_service.guard.cpus import usable_cpus
from login_service.guard.password_policy import normalize_password
from login_service.guard.verification_queue import VerificationQueue
from login_service.metrics import ServiceMetrics

DEFAULT_QUEUE_SECONDS = 5.0
# Never fewer waiting places than this, whatever a start-up hash measured: SPEC's crowds
# (150 concurrent first logins from one address) wait at most their network's budget in
# flight, so a floor above it never sheds them.
MIN_QUEUE = 64


def default_hashing_threads(workers: int) -> int:
    """The CPUs this process may use (its container's quota included), shared among the
    service's worker processes."""
    return max(1, usable_cpus() // workers)


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
    quarter more with four hashes per core than with one). They wait in a bounded queue
    (``verification_queue.py``) of about ``queue_seconds`` of this process's hashing,
    owners first.

    Every Argon2 run of a password check is counted in ``metrics.password_verifications``
    by its parameters: the verification, and a failure's padding (``argon2_work.py``).
    """

    def __init__(
        self,
        *,
        memory_cost_kib: int,
        time_cost: int,
        parallelism: int,
        threads: int = 1,
        queue_seconds: float = DEFAULT_QUEUE_SECONDS,
        metrics: ServiceMetrics | None = None,
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
        self._metrics = metrics
        self._parameters = Argon2Parameters(memory_cost_kib, time_cost, parallelism)
        self._paddings: dict[Argon2Parameters, tuple[Argon2Parameters, Argon2Hasher] | None] = {}
        # Verified against when the account does not exist, so that an unknown
        # identifier costs exactly the work of a wrong password. Its hashing time
        # measures what a verification costs on this machine.
        started = time.perf_counter()
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(24))
        self.queue = VerificationQueue(
            slots=threads,
            limit=queue_limit(threads, queue_seconds, time.perf_counter() - started),
            retry_after_seconds=math.ceil(queue_seconds),
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, metrics: ServiceMetrics | None = None
    ) -> "PasswordHasher":
        return cls(
            memory_cost_kib=settings.argon2_memory_cost_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            threads=settings.argon2_threads or default_hashing_threads(settings.workers),
            queue_seconds=settings.verification_queue_seconds,
            metrics=metrics,
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
        """Hash for a new account: waits in the queue, never shed (registrations reserve
        their own budget first, and a shed one would have spent it)."""
        async with self.queue.slot(sheddable=False):
            return await self._run(self._hash.hash, normalize_password(password))

    async def verify(
        self, password: str, stored_hash: str | None, *, owner: bool = False
    ) -> Verification:
        """Verify ``password``; with no stored hash, do the same work and fail.

        ``owner``: a trusted owner's attempt, served before the others. Raises
        ``VerificationQueueFull`` when too many wait.
        """
        target = stored_hash if stored_hash is not None else self._dummy_hash
        async with self.queue.slot(owner=owner):
            ok, new_hash = await self._run(
                self._verify_as_any_failure_does, normalize_password(password), target
            )
        if stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=ok, new_hash=new_hash)

    def _verify_as_any_failure_does(self, password: str, target: str) -> tuple[bool, str | None]:
        """``verify_and_update``, on a hashing thread; a failure against a hash of cheaper
        parameters is padded with an Argon2 run of the work it lacks, so every failure
        does the work of one verification at the current parameters, as an unknown
        identifier's does."""
        ok, new_hash = self._hash.verify_and_update(password, target)
        parameters = hash_parameters(target)
        self._count(parameters)
        if not ok and parameters is not None and parameters != self._parameters:
            extra = self._padding_for(parameters)
            if extra is not None:
                extra_parameters, extra_hasher = extra
                extra_hasher.hash(password)  # discarded: only its work counts
                self._count(extra_parameters)
        return ok, new_hash

    def _padding_for(
        self, outdated: Argon2Parameters
    ) -> tuple[Argon2Parameters, Argon2Hasher] | None:
        if outdated not in self._paddings:  # a handful of past parameter sets at most
            extra = padding(outdated, self._parameters)
            self._paddings[outdated] = (
                None
                if extra is None
                else (
                    extra,
                    Argon2Hasher(
                        memory_cost=extra.memory_cost_kib,
                        time_cost=extra.time_cost,
                        parallelism=extra.parallelism,
                    ),
                )
            )
        return self._paddings[outdated]

    def _count(self, parameters: Argon2Parameters | None) -> None:
        if self._metrics is not None:
            label = parameters.label if parameters is not None else "unknown"
            self._metrics.password_verifications.labels(label).inc()


def queue_limit(threads: int, queue_seconds: float, seconds_per_hash: float) -> int:
    """Verifications that may wait: ``queue_seconds`` of the threads' hashing, at least
    ``MIN_QUEUE`` (a slow first hash at start-up must not make the bound tiny)."""
    per_second = threads / max(seconds_per_hash, 1e-3)
    return max(MIN_QUEUE, math.ceil(per_second * queue_seconds))
