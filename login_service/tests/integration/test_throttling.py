"""Failed-login throttling, shared through MongoDB by every app instance."""

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support import TEST_PASSWORD, account_payload, insert_accounts, running_app

pytestmark = pytest.mark.integration

WRONG = {"identifier": "user1", "password": "definitely not it!"}
RIGHT = {"identifier": "user1", "password": TEST_PASSWORD}


async def register(client: httpx.AsyncClient, index: int = 1) -> str:
    """Register an account and forget its device cookie, so that the client is untrusted;
    returns the device token the registration issued."""
    response = await client.post("/v1/accounts", json=account_payload(index))
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return response.cookies["device"]


async def test_failures_across_two_apps_throttle_the_typed_identifier_with_429_and_retry_after(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_identifier_max_failures=3)
    async with running_app(settings) as (_, first), running_app(settings) as (_, second):
        await register(first)
        statuses = [
            (await client.post("/v1/auth/login", json=WRONG)).status_code
            for client in (first, second, first)
        ]
        throttled = await second.post("/v1/auth/login", json=RIGHT)
        by_email = await first.post(
            "/v1/auth/login", json={"identifier": "USER1@example.com", "password": TEST_PASSWORD}
        )

    assert statuses == [401, 401, 401]
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert 1 <= int(throttled.headers["retry-after"]) <= 900
    assert by_email.status_code == 200, "budgets are kept per typed identifier, not per account"


async def test_throttle_releases_itself_when_the_window_ends(
    make_settings: Any, mongo: Any
) -> None:
    window = 2
    settings = make_settings(
        throttle_identifier_max_failures=2, throttle_identifier_window_seconds=window
    )
    async with running_app(settings) as (_, client):
        await register(client)
        # Fixed windows: start right after a boundary so that all attempts share one.
        await asyncio.sleep(window - time.time() % window + 0.05)
        for _ in range(2):
            assert (await client.post("/v1/auth/login", json=WRONG)).status_code == 401
        throttled = await client.post("/v1/auth/login", json=RIGHT)
        assert throttled.status_code == 429
        await asyncio.sleep(int(throttled.headers["retry-after"]) + 0.2)

        released = await client.post("/v1/auth/login", json=RIGHT)

    assert released.status_code == 200


async def test_one_client_address_is_throttled_across_accounts(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_client_max_failures=3)
    async with running_app(settings, client_address="198.51.100.9") as (_, attacker):
        for name in ("alice", "bob", "carol"):
            failed = await attacker.post(
                "/v1/auth/login", json={"identifier": name, "password": "guessing-passwords"}
            )
            assert failed.status_code == 401
        blocked = await attacker.post(
            "/v1/auth/login", json={"identifier": "dave", "password": "guessing-passwords"}
        )
    async with running_app(settings, client_address="192.0.2.44") as (_, bystander):
        other_client = await bystander.post(
            "/v1/auth/login", json={"identifier": "dave", "password": "guessing-passwords"}
        )

    assert blocked.status_code == 429
    assert other_client.status_code == 401


async def test_successful_logins_do_not_count_as_failures(make_settings: Any, mongo: Any) -> None:
    settings = make_settings(throttle_identifier_max_failures=2, throttle_client_max_failures=2)
    async with running_app(settings) as (_, client):
        await register(client)
        statuses = [(await client.post("/v1/auth/login", json=RIGHT)).status_code for _ in range(4)]

    assert statuses == [200] * 4


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    make_settings: Any, mongo: Any
) -> None:
    spoofing = make_settings(throttle_client_max_failures=2)
    behind_proxy = make_settings(throttle_client_max_failures=2, trusted_proxies="10.0.0.0/8")
    bad = {"identifier": "nobody", "password": "guessing-passwords"}

    async with running_app(spoofing, client_address="198.51.100.1") as (_, client):
        results = [
            (
                await client.post(
                    "/v1/auth/login", json=bad, headers={"X-Forwarded-For": f"192.0.2.{i}"}
                )
            ).status_code
            for i in range(3)
        ]
    async with running_app(behind_proxy, client_address="10.1.2.3") as (_, proxy):
        proxied = [
            (
                await proxy.post(
                    "/v1/auth/login",
                    json={"identifier": f"nobody{i}", "password": "guessing-passwords"},
                    headers={"X-Forwarded-For": f"192.0.2.{i}"},
                )
            ).status_code
            for i in range(3)
        ]

    assert results == [401, 401, 429], "a forged X-Forwarded-For must not dodge the limit"
    assert proxied == [401, 401, 401], "behind a trusted proxy each forwarded client counts alone"


async def test_concurrent_wrong_passwords_get_at_most_the_limit_of_verifications(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    attempts, limit = 30, 5
    settings = make_settings(
        throttle_identifier_max_failures=limit, throttle_client_max_failures=1000
    )
    async with running_app(settings) as (_, client):
        await register(client)
        responses = await asyncio.gather(
            *(client.post("/v1/auth/login", json=WRONG) for _ in range(attempts))
        )
        afterwards = await client.post("/v1/auth/login", json=RIGHT)

    statuses = [response.status_code for response in responses]
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == attempts - limit, statuses
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)
    assert afterwards.status_code == 429, "the identifier stays throttled until the window ends"
    windows = await mongo[database_name]["login_failures"].find({}).to_list()
    identifier_window = next(w for w in windows if w["_id"].startswith("identifier:"))
    assert identifier_window["count"] == limit, "only the verified failures are counted"


async def test_a_failure_between_successes_counts_once(make_settings: Any, mongo: Any) -> None:
    settings = make_settings(throttle_identifier_max_failures=2)
    async with running_app(settings) as (_, client):
        await register(client)
        statuses = []
        for body in (WRONG, RIGHT, RIGHT, RIGHT, WRONG, RIGHT):
            statuses.append((await client.post("/v1/auth/login", json=body)).status_code)
            client.cookies.clear()  # an untrusted client throughout

    assert statuses == [401, 200, 200, 200, 401, 429], "only the two failures count"


async def test_concurrent_good_logins_from_one_address_write_no_throttle_state(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    burst, limit = 8, 3
    settings = make_settings(throttle_client_max_failures=limit)
    async with running_app(settings) as (_, client):
        for index in range(burst):
            await register(client, index)
        logins = [{"identifier": f"user{i}", "password": TEST_PASSWORD} for i in range(burst)]
        responses = await asyncio.gather(
            *(client.post("/v1/auth/login", json=body) for body in logins * 2)
        )
        windows = (
            await mongo[database_name]["login_failures"]
            .find({"_id": {"$not": {"$regex": "^registration:"}}})
            .to_list()
        )

    assert [r.status_code for r in responses] == [200] * (2 * burst)
    assert windows == [], "successes spend no budget and write no window"


async def test_150_concurrent_first_logins_from_one_address_after_10_failures_all_succeed(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    usernames = await insert_accounts(mongo, database_name, 150)
    # The MongoDB stand-in runs one transaction at a time: 150 first logins take 15 to 17 s
    # on two cores, so the last ones wait for a place longer than the default 10 s and get
    # 429 on a slower machine. The longest wait allowed (20 s) keeps what this test holds:
    # ten failures from the network do not turn a crowd of correct logins away.
    async with running_app(make_settings(throttle_wait_seconds=20.0)) as (_, crowd):
        guesses = [
            await crowd.post(
                "/v1/auth/login", json={"identifier": f"stranger{i}", "password": "not-a-password"}
            )
            for i in range(10)
        ]
        logins = await asyncio.gather(
            *(
                crowd.post("/v1/auth/login", json={"identifier": name, "password": TEST_PASSWORD})
                for name in usernames
            )
        )

    assert [g.status_code for g in guesses] == [401] * 10
    assert [login.status_code for login in logins] == [200] * 150
    recorded = await mongo[database_name]["accounts"].count_documents(
        {"first_login_order": {"$exists": True}}
    )
    assert recorded == 150


def _from(address: str, device_token: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": address}
    if device_token:
        headers["Cookie"] = f"device={device_token}"
    return headers


async def test_an_attacker_at_one_address_does_not_lock_the_owner_out_at_another(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_identifier_max_failures=3, trusted_proxies="10.0.0.0/8")
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        await register(proxy)
        attacker = [
            (
                await proxy.post("/v1/auth/login", json=WRONG, headers=_from("198.51.100.66"))
            ).status_code
            for _ in range(5)
        ]
        right_password_at_the_attackers = await proxy.post(
            "/v1/auth/login", json=RIGHT, headers=_from("198.51.100.66")
        )
        owner = await proxy.post("/v1/auth/login", json=RIGHT, headers=_from("192.0.2.10"))

    assert attacker == [401, 401, 401, 429, 429]
    assert right_password_at_the_attackers.status_code == 429
    assert owner.status_code == 200


async def test_an_account_hammered_from_50_networks_still_opens_to_its_registering_device(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    settings = make_settings(trusted_proxies="10.0.0.0/8")
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        device_token = await register(proxy)
        statuses: list[int] = []
        for round_ in range(4):
            responses = await asyncio.gather(
                *(
                    proxy.post("/v1/auth/login", json=WRONG, headers=_from(f"198.51.{n}.{round_}"))
                    for n in range(50)
                )
            )
            statuses += [response.status_code for response in responses]
        untrusted = await proxy.post("/v1/auth/login", json=RIGHT, headers=_from("203.0.113.5"))
        owner = await proxy.post(
            "/v1/auth/login", json=RIGHT, headers=_from("203.0.113.5", device_token)
        )
        by_header = await proxy.post(
            "/v1/auth/login",
            json={"identifier": "user1@example.com", "password": TEST_PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.99", "X-Device-Token": device_token},
        )

    assert len(statuses) == 200
    assert statuses.count(401) <= 50 + 2, "the account-wide budget (50) bounds the guesses"
    assert statuses.count(429) >= 148
    assert untrusted.status_code == 429, "an untrusted client waits while the attack goes on"
    assert owner.status_code == 200, "the owner's registering browser is never locked out"
    assert by_header.status_code == 200, "a cookie-less client sends the token in a header"


async def test_below_the_account_budget_refusals_do_not_tell_whether_an_identifier_exists(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_identifier_max_failures=2)
    typed = ("user1", "user1@example.com", "ghost", "ghost@example.com")
    async with running_app(settings) as (_, client):
        await register(client)
        for identifier in typed:
            for _ in range(2):
                body = {"identifier": identifier, "password": "not the password"}
                assert (await client.post("/v1/auth/login", json=body)).status_code == 401
        refusals = await asyncio.gather(
            *(
                client.post("/v1/auth/login", json={"identifier": i, "password": "x" * 12})
                for i in typed
            )
        )

    def shape(response: httpx.Response) -> tuple[int, dict[str, Any], dict[str, str]]:
        body = {k: v for k, v in response.json().items() if k != "request_id"}
        varying = ("x-request-id", "retry-after")
        headers = {k: v for k, v in response.headers.items() if k not in varying}
        return response.status_code, body, headers

    assert {shape(r)[0] for r in refusals} == {429}
    assert all(shape(r) == shape(refusals[0]) for r in refusals), [shape(r) for r in refusals]
    # Every budget's windows end at the same instants whatever the key; requests sent
    # together can only straddle a second boundary.
    retry_after = [int(r.headers["retry-after"]) for r in refusals]
    assert max(retry_after) - min(retry_after) <= 1, retry_after


async def test_a_client_over_budget_writes_nothing_for_1000_fresh_identifiers(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    settings = make_settings(throttle_client_max_failures=3)
    database = mongo[database_name]
    async with running_app(settings) as (_, client):
        for i in range(3):
            body = {"identifier": f"guess{i}", "password": "not-a-password"}
            assert (await client.post("/v1/auth/login", json=body)).status_code == 401
        names = ("login_failures", "accounts", "outbox")
        before = {name: await database[name].count_documents({}) for name in names}
        statuses: list[int] = []
        for batch in range(20):
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/v1/auth/login",
                        json={"identifier": f"fresh{batch}-{i}@example.org", "password": "guess"},
                    )
                    for i in range(50)
                )
            )
            statuses += [response.status_code for response in responses]
        after = {name: await database[name].count_documents({}) for name in before}

    assert statuses == [429] * 1000
    assert after == before


async def test_a_device_that_spent_its_own_budget_is_judged_as_untrusted(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(
        throttle_device_max_failures=2,
        throttle_identifier_max_failures=3,
        throttle_client_max_failures=100,
    )
    async with running_app(settings) as (_, client):
        device_token = await register(client)
        trusted = {"X-Device-Token": device_token}
        statuses = [
            (await client.post("/v1/auth/login", json=WRONG, headers=trusted)).status_code
            for _ in range(2 + 3 + 1)
        ]

    # Two failures on the device's budget, then three on the untrusted budgets, then refused.
    assert statuses == [401, 401, 401, 401, 401, 429]


async def test_a_device_token_names_only_the_accounts_it_logged_in_to(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_identifier_max_failures=1, throttle_device_max_failures=5)
    other = {"identifier": "user2", "password": "not the password"}
    async with running_app(settings) as (_, client):
        own_device = await register(client, 1)
        await register(client, 2)
        forged = {"X-Device-Token": own_device[:-6] + "AAAAAA"}
        trusted = {"X-Device-Token": own_device}
        forged_statuses = [
            (await client.post("/v1/auth/login", json=WRONG, headers=forged)).status_code
            for _ in range(2)
        ]
        own = await client.post("/v1/auth/login", json=WRONG, headers=trusted)
        other_statuses = [
            (await client.post("/v1/auth/login", json=other, headers=trusted)).status_code
            for _ in range(2)
        ]

    assert forged_statuses == [401, 429], "a tampered token is no token"
    assert own.status_code == 401, "the device's own budget judges user1's logins"
    assert other_statuses == [401, 429], "user1's device is untrusted for user2"


async def test_addresses_of_one_ipv6_64_share_one_client_budget(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_client_max_failures=2, trusted_proxies="10.0.0.0/8")
    bad = {"identifier": "nobody", "password": "guessing-passwords"}
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        same_64 = [
            (
                await proxy.post("/v1/auth/login", json=bad, headers=_from(f"2001:db8:1:2::{i}"))
            ).status_code
            for i in range(1, 4)
        ]
        next_64 = await proxy.post("/v1/auth/login", json=bad, headers=_from("2001:db8:1:3::1"))

    assert same_64 == [401, 401, 429]
    assert next_64.status_code == 401


async def test_registrations_from_one_network_are_limited_and_conflicts_count(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    settings = make_settings(throttle_registration_max_attempts=3)
    async with running_app(settings, client_address="198.51.100.20") as (_, farm):
        created = [
            (await farm.post("/v1/accounts", json=account_payload(i))).status_code for i in (1, 2)
        ]
        conflict = await farm.post("/v1/accounts", json=account_payload(1))
        refused = await farm.post("/v1/accounts", json=account_payload(3))
        invalid = await farm.post("/v1/accounts", json={**account_payload(4), "password": "x"})
    async with running_app(settings, client_address="192.0.2.30") as (_, elsewhere):
        other_network = await elsewhere.post("/v1/accounts", json=account_payload(5))

    assert created == [201, 201]
    assert conflict.status_code == 409
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:bank:login:problem:too-many-registrations"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert invalid.status_code == 422, "invalid input is refused before any budget"
    assert other_network.status_code == 201
    usernames = await mongo[database_name]["accounts"].distinct("username")
    assert sorted(usernames) == ["user1", "user2", "user5"]


async def test_a_slow_distributed_guesser_is_capped_per_day(make_settings: Any, mongo: Any) -> None:
    settings = make_settings(throttle_account_daily_max_failures=3, trusted_proxies="10.0.0.0/8")
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        await register(proxy)
        guesses = [
            await proxy.post("/v1/auth/login", json=WRONG, headers=_from(f"198.51.100.{i}"))
            for i in range(1, 5)
        ]

    assert [guess.status_code for guess in guesses] == [401, 401, 401, 429]
    until_the_days_window_ends = 86_400 - time.time() % 86_400
    assert abs(int(guesses[-1].headers["retry-after"]) - until_the_days_window_ends) <= 3


async def test_the_oauth2_token_endpoint_answers_throttling_as_slow_down_with_retry_after(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_identifier_max_failures=1)
    form = {"grant_type": "password", "username": "user1", "password": "not the password"}
    async with running_app(settings) as (_, client):
        await register(client)
        wrong = await client.post("/v1/auth/token", data=form)
        throttled = await client.post("/v1/auth/token", data={**form, "password": TEST_PASSWORD})

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/json"
    assert throttled.json()["error"] == "slow_down"
    assert 1 <= int(throttled.headers["retry-after"]) <= 900
    assert throttled.headers["cache-control"] == "no-store"
    assert "set-cookie" not in throttled.headers
