"""The event-loop CPU of each part of a successful non-first login, each timed alone.

Runs in the login service's environment, with the run's login settings (its database,
its signing key): ``uv run --project login_service python .../login_parts.py``. It wires
the service as a worker does (``open_services``) and times, one call at a time, for at
most a number of calls or of seconds per part, the CPU of the calling thread (the event
loop's) per call: the account read, the budgets' check (the windows' read and the
hand-off of the verification to a hashing thread, whose Argon2 CPU is not counted here),
the hand-off alone, the ``last_login_at`` write, the session token, the device token, and
``LoginService.login`` as a whole (all of them, and the service's own code between them).
Prints one JSON line: milliseconds per call by part, and how the parts were timed.
"""

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import uvloop
from login_service.accounts.normalize import classify_identifier
from login_service.accounts.repository import Account, AccountRepository
from login_service.auth.tokens import SessionIssuer, TokenPolicy
from login_service.config import Settings
from login_service.container import Services, build_login_guard, open_services
from login_service.db import Collections
from login_service.guard.client_address import client_network
from login_service.guard.login_guard import LoginAttempt
from login_service.guard.windows import WindowStore
from login_service.metrics import ServiceMetrics

CLIENT_ADDRESS = "127.0.0.1"


class Timer:
    """Times each part for at most ``calls`` calls or ``seconds`` of wall time, whichever
    ends first: on a slow database a write can take a second."""

    def __init__(self, calls: int, seconds: float) -> None:
        self.calls = calls
        self.seconds = seconds
        self.fewest = calls  # the fewest calls any part made

    async def cpu_per_call(self, one: Callable[[int], Awaitable[object]]) -> float:
        """Milliseconds of this thread's CPU per call, the calls made one after the other."""
        await one(0)  # first use: connections, caches
        deadline = time.monotonic() + self.seconds
        started, made = time.thread_time(), 0
        while made < self.calls and (made == 0 or time.monotonic() < deadline):
            await one(made)
            made += 1
        self.fewest = min(self.fewest, made)
        return (time.thread_time() - started) * 1000 / made


class Parts:
    def __init__(
        self,
        services: Services,
        settings: Settings,
        repository: AccountRepository,
        accounts: list[tuple[str, Account]],
    ) -> None:
        self.services = services
        self.repository = repository
        # The service's own password checks: its settings, keys and hash threads.
        failures = Collections.of(services.mongo[settings.mongodb_database]).login_failures
        self.guard = build_login_guard(
            settings, services.keys, services.hasher, WindowStore(failures)
        )
        self.keys = [key for key, _ in accounts]
        self.accounts = [account for _, account in accounts]
        self.sessions = SessionIssuer(
            services.keys,
            TokenPolicy(
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.access_token_ttl_seconds,
                leeway_seconds=settings.jwt_leeway_seconds,
            ),
        )

    def account(self, index: int) -> Account:
        return self.accounts[index % len(self.accounts)]

    async def read(self, index: int) -> object:
        key = self.keys[index % len(self.keys)]
        found = await self.repository.find_by_identifier("username", key)
        assert found is not None, key
        return found

    async def budgets(self, index: int, password: str) -> object:
        account = self.account(index)
        attempt = LoginAttempt(
            identifier=f"username:{self.keys[index % len(self.keys)]}",
            network=client_network(CLIENT_ADDRESS),
            account_id=account.id,
            device=None,
        )
        return await self.guard.check_password(attempt, password, account.password_hash)

    async def handoff(self, index: int, password: str) -> object:
        return await self.services.hasher.verify(password, self.account(index).password_hash)

    async def write(self, index: int) -> None:
        await self.repository.touch_last_login(self.account(index).id, datetime.now(UTC))

    async def session(self, index: int) -> object:
        return self.sessions.issue(self.account(index).id, datetime.now(UTC))

    async def device(self, index: int) -> object:
        return self.services.device_tokens.issue(None, self.account(index).id)

    async def login(self, index: int, password: str) -> object:
        return await self.services.login.login(
            identifier=self.account(index).username,
            password=password,
            client_address=CLIENT_ADDRESS,
            device=None,
            request_id=None,
        )


async def measure(usernames: list[str], password: str, timer: Timer) -> dict[str, object]:
    settings = Settings()
    services = await open_services(settings, ServiceMetrics())
    try:
        database = services.mongo[settings.mongodb_database]
        repository = AccountRepository(Collections.of(database).accounts)
        accounts = []
        for name in usernames:
            key = classify_identifier(name).key
            account = await repository.find_by_identifier("username", key)
            if account and account.first_login_at:
                accounts.append((key, account))
        if not accounts:
            raise SystemExit("none of the usernames names an account that has logged in")
        parts = Parts(services, settings, repository, accounts)
        return {
            "account_read": await timer.cpu_per_call(parts.read),
            "budgets": await timer.cpu_per_call(lambda i: parts.budgets(i, password)),
            "verification": await timer.cpu_per_call(lambda i: parts.handoff(i, password)),
            "last_login_write": await timer.cpu_per_call(parts.write),
            "session_token": await timer.cpu_per_call(parts.session),
            "device_token": await timer.cpu_per_call(parts.device),
            "login": await timer.cpu_per_call(lambda i: parts.login(i, password)),
            "calls": timer.calls,
            "seconds": timer.seconds,
            "fewest_calls": timer.fewest,
            "key_bits": getattr(services.keys.private_key, "key_size", 0),
            "algorithm": settings.jwt_algorithm,
        }
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--password", required=True)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0, help="at most, per part")
    parser.add_argument("usernames", nargs="+")
    args = parser.parse_args()
    # The event loop the service's workers run (Uvicorn picks uvloop when it is installed).
    timer = Timer(args.calls, args.seconds)
    print(json.dumps(uvloop.run(measure(args.usernames, args.password, timer))))


if __name__ == "__main__":
    main()
