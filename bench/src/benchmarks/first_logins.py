"""First login to voucher: fresh accounts log in one at a time, each voucher awaited."""

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from benchmarks.drive import percentile
from benchmarks.mongo_target import connect
from benchmarks.plan import PASSWORD
from benchmarks.progress import say
from benchmarks.stack import FIRST_LOGIN_CAMPAIGN

POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class FirstLoginRun:
    accounts: int  # first logins attempted
    latencies_ms: list[float]  # one per voucher that arrived in time
    tokens: list[str]
    server_errors: int  # 5xx answers to first logins (each retried, as a client would)
    missing: int  # vouchers that did not arrive within the wait

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)


async def _log_in(client: httpx.AsyncClient, username: str, attempts: int = 4) -> tuple[str, int]:
    """Log in once (retrying 5xx); return the token and how many 5xx answers came first."""
    body = {"identifier": username, "password": PASSWORD}
    for errors in range(attempts):
        response = await client.post("/v1/auth/login", json=body)
        if response.status_code == 200:
            return str(response.json()["access_token"]), errors
        if response.status_code < 500:
            break
    raise RuntimeError(f"login of {username} answered {response.status_code}")


async def measure_first_logins(
    uri: str,
    databases: tuple[str, str],
    login_url: str,
    usernames: list[str],
    wait_seconds: float,
    phase_seconds: float,
) -> FirstLoginRun:
    tokens: list[str] = []
    latencies: list[float] = []
    server_errors = 0
    started = time.perf_counter()
    async with connect(uri) as mongo, httpx.AsyncClient(base_url=login_url, timeout=90.0) as client:
        accounts, vouchers = mongo[databases[0]]["accounts"], mongo[databases[1]]["vouchers"]
        for username in usernames:
            if time.perf_counter() - started > phase_seconds:
                say(f"    phase time used up after {len(tokens)} first logins")
                break
            token, errors = await _log_in(client, username)
            tokens.append(token)
            server_errors += errors
            account = await accounts.find_one({"username_key": username}, {"_id": 1})
            assert account is not None
            wanted = {"campaign_id": FIRST_LOGIN_CAMPAIGN, "account_id": account["_id"]}
            deadline = time.monotonic() + wait_seconds
            while (voucher := await vouchers.find_one(wanted)) is None:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(POLL_SECONDS)
            if voucher is not None:
                lag = voucher["granted_at"] - voucher["first_login_at"]
                latencies.append(lag.total_seconds() * 1000)
    missing = len(tokens) - len(latencies)
    return FirstLoginRun(len(tokens), latencies, tokens, server_errors, missing)
