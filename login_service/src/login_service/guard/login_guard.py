"""Password checks under the login budgets: the whole throttling model in one place.

Budgets of failed logins, each a fixed window (``windows.py``):

- ``per_identifier``: one typed, normalised identifier from one client network. It also
  counts the attempts in flight: attempts at one (identifier, network) take turns in a
  process, and each reads the failures of those before it, so parallel guesses cannot
  outrun it (across P processes at most P attempts run at once).
- ``per_client``: one client network, whatever the identifiers (password spraying).
- ``per_account`` and ``per_account_daily``: one account, from untrusted clients only.
  An identifier that names no account is counted under a pseudo-account key (an HMAC of
  the normalised identifier under a service key), so a failure does the same work, and
  the account-wide refusal comes the same way, whether or not the account exists.
- ``per_device``: a client presenting a valid device token naming the account is
  judged by this budget of its own device and nothing else, so guessing from elsewhere
  never locks the owner out of a browser it registered or logged in from. A device
  whose budget is spent is treated as untrusted.

Only failures are counted, and only after a verification failed; a refused attempt
writes nothing. Every budget but the account-wide one is keyed by what the client
typed, never by the account it names, so until the account-wide budget is spent a
refusal looks the same for every identifier, existing or not.
"""

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from login_service.errors import InvalidCredentials, LoginThrottled
from login_service.guard.device_tokens import DeviceToken, DeviceTokens
from login_service.guard.passwords import PasswordHasher, Verification
from login_service.guard.windows import (
    ThrottleRule,
    Window,
    WindowStore,
    current_window,
    retry_after_seconds,
)


@dataclass(frozen=True, slots=True)
class LoginBudgets:
    per_identifier: ThrottleRule
    per_client: ThrottleRule
    per_account: ThrottleRule
    per_account_daily: ThrottleRule
    per_device: ThrottleRule


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What a login attempt is judged by."""

    identifier: str  # the normalised identifier with its kind, e.g. "email:ada@example.com"
    network: str  # the client network (IPv4 address, IPv6 /64)
    account_id: str | None  # the account the identifier names, if any
    device: DeviceToken | None  # a valid device token the client presented

    @property
    def trusted_device(self) -> DeviceToken | None:
        if self.device is not None and self.account_id and self.device.names(self.account_id):
            return self.device
        return None


class _TurnsPerKey:
    """One attempt at a time per key in this process; the entry goes with the last user."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class LoginGuard:
    """Passwords, login budgets and device tokens, for the login and registration flows."""

    def __init__(
        self,
        *,
        hasher: PasswordHasher,
        windows: WindowStore,
        budgets: LoginBudgets,
        device_tokens: DeviceTokens,
        pseudo_account_key: bytes,
    ) -> None:
        self.hasher = hasher
        self.windows = windows
        self.device_tokens = device_tokens
        self._budgets = budgets
        self._pseudo_account_key = pseudo_account_key
        self._turns = _TurnsPerKey()

    async def check_password(
        self, attempt: LoginAttempt, password: str, stored_hash: str | None
    ) -> Verification:
        """Verify ``password`` within the budgets; a failure is counted before it is reported.

        Raises ``LoginThrottled`` (nothing written, no Argon2 work) when a budget is
        spent, ``InvalidCredentials`` when the password is wrong or there is no account
        (verified against a dummy hash then, so both cost the same). One read of the
        windows; one write, only for a failure.
        """
        identifier_key = hashlib.sha256(attempt.identifier.encode()).hexdigest()[:32]
        async with self._turns.turn(f"{identifier_key}|{attempt.network}"):
            failure_windows = await self._admit(attempt, identifier_key)
            result = await self.hasher.verify(password, stored_hash)
            if not result.ok:
                await self.windows.add_one(failure_windows)
                raise InvalidCredentials
        return result

    async def _admit(self, attempt: LoginAttempt, identifier_key: str) -> list[Window]:
        """The windows a failure of this attempt counts in, or ``LoginThrottled``."""
        budgets, now = self._budgets, self.windows.now()
        untrusted = [
            (budgets.per_identifier, f"{identifier_key}|{attempt.network}"),
            (budgets.per_client, attempt.network),
        ]
        account_key = attempt.account_id or self._pseudo_account(attempt.identifier)
        untrusted.append((budgets.per_account, account_key))
        untrusted.append((budgets.per_account_daily, account_key))
        judged = [(rule, current_window(rule, key, now)) for rule, key in untrusted]
        device = attempt.trusted_device
        device_window = (
            current_window(budgets.per_device, device.device_id, now) if device else None
        )
        wanted = [window for _, window in judged]
        counts = await self.windows.counts([*wanted, *([device_window] if device_window else [])])
        device_spent = counts.get(device_window.document_id, 0) if device_window else 0
        if device_window is not None and device_spent < budgets.per_device.max_count:
            return [device_window]
        blocked = [
            retry_after_seconds(window, now)
            for rule, window in judged
            if counts.get(window.document_id, 0) >= rule.max_count
        ]
        if blocked:
            raise LoginThrottled(max(blocked))
        return wanted

    def _pseudo_account(self, identifier: str) -> str:
        """The account-wide key of an identifier naming no account: keyed, so nobody can
        tell it from an account id or precompute it; prefixed, so it never is one."""
        digest = hmac.new(self._pseudo_account_key, identifier.encode(), hashlib.sha256)
        return "unknown-" + digest.hexdigest()[:32]
