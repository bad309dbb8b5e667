"""SPEC section 5, property 6, end to end: a burst of guesses gets no more verifications
than its budget, a crowd of correct logins passes, and the owner gets in during a flood.

Each test's clients connect from loopback addresses of their own (127.x.y.z, random per
run), each one a client network of its own to the login service, so that no test spends
another's budgets. Verifications are counted by the login service's hasher
(`login_password_verifications_total` on `/metrics`, summed over its workers).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.e2e.flows import PASSWORD, registration
from tests.e2e.harness import StackUrls

NETWORK_BUDGET = 20  # LOGIN_THROTTLE_CLIENT_MAX_FAILURES, the default
LOGIN_PROCESSES = 2  # LOGIN_WORKERS under `make dev`, the local stack's default
OWNER_WITHIN_SECONDS = 5.0


@pytest.fixture
def local(fresh_stack: StackUrls) -> StackUrls:
    """A local stack of this module's own: its 150 first logins fill a campaign, which the
    session's other tests (the README tour) need a slot of."""
    stack = fresh_stack
    if not stack.owned:
        pytest.skip(
            "counts verifications per login process and connects from loopback addresses: "
            "needs the local stack (behind a proxy every client is the proxy's peer)"
        )
    return stack


def _addresses() -> Iterator[str]:
    """Fresh loopback addresses, one client network each, unlikely to repeat across runs."""
    base = secrets.randbelow(150) + 100
    for n in range(10_000):
        yield f"127.{base}.{n // 250}.{n % 250 + 1}"


@asynccontextmanager
async def _client_at(
    stack: StackUrls, address: str, connections: int
) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
    async with httpx.AsyncClient(transport=transport, base_url=stack.login, timeout=60) as client:
        yield client


async def _verifications(stack: StackUrls) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        text = (await client.get(f"{stack.login}/metrics")).text
    pattern = r"^login_password_verifications_total\{[^}]*\} (\S+)$"
    return sum(float(value) for value in re.findall(pattern, text, flags=re.MULTILINE))


async def _guess(client: httpx.AsyncClient, identifier: str) -> httpx.Response:
    body = {"identifier": identifier, "password": "not the password"}
    return await client.post("/v1/auth/login", json=body)


async def _burst_of_guesses(local: StackUrls) -> None:
    address = next(_addresses())
    before = await _verifications(local)
    async with _client_at(local, address, 500) as client:
        responses = await asyncio.gather(
            *(_guess(client, f"nobody-{secrets.token_hex(6)}") for _ in range(500))
        )
    verified = await _verifications(local) - before

    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= NETWORK_BUDGET * LOGIN_PROCESSES, statuses
    assert verified == statuses[401], "each verification was a counted failure"


async def _register(client: httpx.AsyncClient) -> str:
    for _ in range(5):
        username = f"e2e{secrets.token_hex(5)}"
        response = await client.post("/v1/accounts", json=registration(username))
        if response.status_code != 409:  # a phone number taken by an earlier run
            assert response.status_code == 201, response.text
            return username
    raise AssertionError("could not find a free phone number in five tries")


async def _crowd_of_first_logins(
    local: StackUrls,
) -> None:
    address = next(_addresses())
    async with _client_at(local, address, 150) as registering:
        usernames = await asyncio.gather(*(_register(registering) for _ in range(150)))
    # New connections, and no device cookie: an untrusted crowd, as behind a carrier NAT.
    async with _client_at(local, address, 150) as client:
        guesses = [(await _guess(client, f"stranger{i}")).status_code for i in range(10)]
        logins = await asyncio.gather(
            *(
                client.post("/v1/auth/login", json={"identifier": name, "password": PASSWORD})
                for name in usernames
            )
        )

    assert guesses == [401] * 10
    assert [login.status_code for login in logins] == [200] * 150


async def _owner_in_a_flood(local: StackUrls) -> None:
    addresses = _addresses()
    network = next(addresses)  # the flood's, and the owner's too (one carrier NAT)
    async with _client_at(local, network, 4) as owner:
        username = await _register(owner)  # the browser keeps its device cookie
        credentials = {"identifier": username, "password": PASSWORD}
        assert (await owner.post("/v1/auth/login", json=credentials)).status_code == 200
        async with _client_at(local, network, 500) as attacker:
            targets = [
                username if i % 5 == 0 else f"nobody-{secrets.token_hex(6)}" for i in range(500)
            ]
            flood = [asyncio.create_task(_guess(attacker, target)) for target in targets]
            await asyncio.sleep(0.5)  # the flood is under way
            started = time.monotonic()
            login = await owner.post("/v1/auth/login", json=credentials)
            elapsed = time.monotonic() - started
            answered_after = sum(not task.done() for task in flood)
            statuses = Counter(response.status_code for response in await asyncio.gather(*flood))

    assert login.status_code == 200, login.text
    assert elapsed < OWNER_WITHIN_SECONDS, f"the owner waited {elapsed:.1f} s behind the flood"
    assert answered_after > 0, "the owner came in while the flood was still being answered"
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= NETWORK_BUDGET * LOGIN_PROCESSES, statuses


def test_500_concurrent_wrong_guesses_from_one_network_get_at_most_its_budget_per_process(
    local: StackUrls,
) -> None:
    asyncio.run(_burst_of_guesses(local))


def test_150_concurrent_correct_first_logins_from_one_address_all_succeed(
    local: StackUrls,
) -> None:
    asyncio.run(_crowd_of_first_logins(local))


def test_an_owner_with_a_device_cookie_logs_in_within_5_s_during_a_flood(
    local: StackUrls,
) -> None:
    asyncio.run(_owner_in_a_flood(local))
