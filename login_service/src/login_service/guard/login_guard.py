"""Password checks under the login budgets: the whole throttling model in one place.

Budgets of failed logins, each a fixed window (``windows.py``):

- ``per_identifier``: one typed, normalised identifier from one client network; one
  attempt at a time is verified per process (across P processes at most P at once).
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
writes nothing. Attempts in flight count against what they could spend (``places.py``): a
budget admits at most as many attempts to verification at once as it has failures left
(the identifier's, one), so a burst gets no more verifications than the budget, in each
process; the rest wait for a place (a success gives its place back) up to a bound, then
are refused. Every budget but the account-wide one is keyed by what the client
typed, never by the account it names, so until the account-wide budget is spent a
refusal looks the same for every identifier, existing or not.
"""

import asyncio
import hashlib
import hmac
import math
from dataclasses import dataclass

from login_service.errors import InvalidCredentials, LoginThrottled
from login_service.guard.device_tokens import DeviceToken
from login_service.guard.passwords import PasswordHasher, Verification
from login_service.guard.places import PlacesInFlight
from login_service.guard.windows import (
    ThrottleRule,
    Window,
    WindowStore,
    current_window,
    retry_after_seconds,
)

# How long an attempt may wait for a place (the proxy in front gives up after 30 s).
DEFAULT_WAIT_SECONDS = 10.0
# The refusal's rule when an attempt waited for a place in flight and none freed in time.
IN_FLIGHT_RULE = "in_flight"


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


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one read of the windows says about an attempt."""

    places: dict[str, int]  # window id -> attempts it may have in flight (budget left)
    counted_in: list[Window]  # the windows a failure counts in: those of the places
    rules: dict[str, str]  # window id -> the scope of its rule (for the refusal's metric)
    owner: bool  # judged by a trusted device's own budget


class LoginGuard:
    """Password checks of the login flow, held to the login budgets."""

    def __init__(
        self,
        *,
        hasher: PasswordHasher,
        windows: WindowStore,
        budgets: LoginBudgets,
        pseudo_account_key: bytes,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        self._hasher = hasher
        self._windows = windows
        self._budgets = budgets
        self._pseudo_account_key = pseudo_account_key
        self._wait_seconds = wait_seconds
        self._places = PlacesInFlight()

    async def check_password(
        self, attempt: LoginAttempt, password: str, stored_hash: str | None
    ) -> Verification:
        """Verify ``password`` within the budgets; a failure is counted before it is reported.

        Raises ``LoginThrottled`` (nothing written, no Argon2 work) when a budget is
        spent or no place freed in time, ``VerificationQueueFull`` when too many checks
        wait for the hashing threads, ``InvalidCredentials`` when the password is wrong or
        there is no account (verified against a dummy hash then, so both cost the same).
        One read of the windows (more only after waiting); one write, only for a failure.
        """
        identifier_key = hashlib.sha256(attempt.identifier.encode()).hexdigest()[:32]
        plan = await self._hold_places(attempt, identifier_key)
        try:
            result = await self._hasher.verify(password, stored_hash, owner=plan.owner)
            if not result.ok:
                await self._windows.add_one(plan.counted_in)
                raise InvalidCredentials
        finally:
            self._places.release(plan.places)
        return result

    async def _hold_places(self, attempt: LoginAttempt, identifier_key: str) -> _Plan:
        """A place in each of the attempt's windows, waiting for one at most the bound."""
        deadline = asyncio.get_running_loop().time() + self._wait_seconds
        plan = await self._plan(attempt, identifier_key)
        while not self._places.try_take(plan.places):
            ids = list(plan.places)
            if not await self._places.wait(ids, deadline):
                raise LoginThrottled(math.ceil(self._wait_seconds) or 1, IN_FLIGHT_RULE)
            if spent := self._places.spent(ids):
                now = self._windows.now()
                ends = [
                    (retry_after_seconds(w, now), plan.rules[w.document_id])
                    for w in plan.counted_in
                    if w.document_id in spent
                ]
                retry_after, rule = max(ends)
                raise LoginThrottled(retry_after, rule)
            self._places.take_provisionally(ids)
            try:
                plan = await self._plan(attempt, identifier_key)
            finally:
                # Given back before the loop takes again, with no await between.
                self._places.release(ids)
        return plan

    async def _plan(self, attempt: LoginAttempt, identifier_key: str) -> _Plan:
        """The attempt's windows and what each has left, or ``LoginThrottled``."""
        budgets, now = self._budgets, self._windows.now()
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
        counts = await self._windows.counts([*wanted, *([device_window] if device_window else [])])
        device_left = (
            budgets.per_device.max_count - counts.get(device_window.document_id, 0)
            if device_window
            else 0
        )
        if device_window is not None and device_left > 0:
            return _Plan(
                {device_window.document_id: device_left},
                [device_window],
                {device_window.document_id: budgets.per_device.scope},
                owner=True,
            )
        left = {w.document_id: rule.max_count - counts.get(w.document_id, 0) for rule, w in judged}
        blocked = [
            (retry_after_seconds(w, now), rule.scope)
            for rule, w in judged
            if left[w.document_id] <= 0
        ]
        if blocked:
            retry_after, scope = max(blocked)  # the budget that refuses longest names it
            raise LoginThrottled(retry_after, scope)
        identifier_window = wanted[0].document_id
        left[identifier_window] = min(left[identifier_window], 1)  # one at a time
        return _Plan(left, wanted, {w.document_id: rule.scope for rule, w in judged}, owner=False)

    def _pseudo_account(self, identifier: str) -> str:
        """The account-wide key of an identifier naming no account: keyed, so nobody can
        tell it from an account id or precompute it; prefixed, so it never is one."""
        digest = hmac.new(self._pseudo_account_key, identifier.encode(), hashlib.sha256)
        return "unknown-" + digest.hexdigest()[:32]
