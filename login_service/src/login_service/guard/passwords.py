"""Argon2id password hashing (pwdlib), off the event loop, with a dummy hash for unknown users."""

import asyncio
import secrets
from dataclasses import dataclass, field

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from login_service.config import Settings
from login_service.guard.password_policy import normalize_password


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of a password check; ``new_hash`` is set when the parameters changed."""

    ok: bool
    new_hash: str | None = field(default=None, repr=False)


class PasswordHasher:
    """Hashes and verifies passwords with the configured Argon2id parameters.

    Argon2 releases the GIL, so hashing runs in worker threads and the event loop
    keeps serving other requests meanwhile.
    """

    def __init__(self, *, memory_cost_kib: int, time_cost: int, parallelism: int) -> None:
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
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, normalize_password(password))

    async def verify(self, password: str, stored_hash: str | None) -> Verification:
        """Verify ``password``; with no stored hash, do the same work and fail."""
        target = stored_hash if stored_hash is not None else self._dummy_hash
        ok, new_hash = await asyncio.to_thread(
            self._hash.verify_and_update, normalize_password(password), target
        )
        if stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=ok, new_hash=new_hash)
