"""Attempts in flight count against their budgets, and a flood is shed, not queued.

Each test's clients come from client networks of their own (X-Forwarded-For behind a
trusted proxy), so one test's budgets never meet another's.
"""

import asyncio
from typing import Any

import httpx
import pytest

from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration


def _from(address: str, device_token: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": address}
    if device_token:
        headers["Cookie"] = f"device={device_token}"
    return headers


def _guess(proxy: httpx.AsyncClient, identifier: str, address: str) -> Any:
    body = {"identifier": identifier, "password": "not the password"}
    return proxy.post("/v1/auth/login", json=body, headers=_from(address))


def _counter(app: Any, name: str, label: str) -> dict[str, float]:
    """A labelled counter of the app's metrics, by label value."""
    return {
        sample.labels[label]: sample.value
        for metric in app.state.services.metrics.registry.collect()
        if metric.name == name
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


def _verifications(app: Any) -> float:
    return sum(_counter(app, "login_password_verifications", "parameters").values())


async def test_a_burst_of_wrong_guesses_from_one_network_gets_no_more_verifications_than_its_budget(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(trusted_proxies="10.0.0.0/8")  # 20 failures per network
    async with running_app(settings, client_address="10.0.0.2") as (app, proxy):
        responses = await asyncio.gather(
            *(_guess(proxy, f"nobody{i}", "198.51.100.24") for i in range(200))
        )
        verifications = _verifications(app)

    statuses = [response.status_code for response in responses]
    assert verifications == 20, "each verification is one of the network's 20 failures"
    assert statuses.count(401) == 20
    assert statuses.count(429) == 180
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)


async def test_a_crowd_of_correct_logins_waits_for_places_freed_by_successes(
    make_settings: Any, mongo: Any
) -> None:
    crowd = 40
    settings = make_settings(trusted_proxies="10.0.0.0/8", throttle_client_max_failures=3)
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        for index in range(crowd):
            assert (
                await proxy.post("/v1/accounts", json=account_payload(index))
            ).status_code == 201
        guesses = [(await _guess(proxy, "stranger", "198.51.100.25")).status_code for _ in range(2)]
        proxy.cookies.clear()
        logins = await asyncio.gather(
            *(
                proxy.post(
                    "/v1/auth/login",
                    json={"identifier": f"user{i}", "password": TEST_PASSWORD},
                    headers=_from("198.51.100.25"),
                )
                for i in range(crowd)
            )
        )

    assert guesses == [401, 401]
    assert [login.status_code for login in logins] == [200] * crowd, "one place, 40 in turn"


async def test_a_flood_from_many_networks_is_shed_with_503_and_the_owner_goes_first(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(trusted_proxies="10.0.0.0/8", verification_queue_seconds=1)
    async with running_app(settings, client_address="10.0.0.2") as (app, proxy):
        registered = await proxy.post(
            "/v1/accounts", json=account_payload(1), headers=_from("192.0.2.1")
        )
        device_token = registered.cookies["device"]
        proxy.cookies.clear()
        limit = app.state.services.hasher.queue.limit
        flood = [
            asyncio.create_task(_guess(proxy, f"nobody{i}", f"198.51.{i // 250}.{i % 250}"))
            for i in range(2 * limit)
        ]
        await asyncio.sleep(0.2)  # the flood is queued
        owner = await proxy.post(
            "/v1/auth/login",
            json={"identifier": "user1", "password": TEST_PASSWORD},
            headers=_from("198.51.0.1", device_token),
        )
        unfinished = sum(not task.done() for task in flood)
        responses = await asyncio.gather(*flood)
        shed = _counter(app, "login_attempts", "outcome").get("shed", 0)

    statuses = [response.status_code for response in responses]
    assert owner.status_code == 200, owner.text
    assert unfinished > 0, "the owner was served ahead of guesses queued before it"
    assert statuses.count(503) > 0, "more than the queue holds is refused at once"
    assert statuses.count(503) + statuses.count(401) == len(flood)
    assert shed == statuses.count(503)
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("service-busy")
    assert int(refused.headers["retry-after"]) >= 1
