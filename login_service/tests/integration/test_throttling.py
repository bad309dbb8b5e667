"""Failed-login throttling, shared through MongoDB by every app instance."""

import asyncio
import time
from typing import Any

import pytest

from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration

WRONG = {"identifier": "user1", "password": "definitely not it!"}
RIGHT = {"identifier": "user1", "password": TEST_PASSWORD}


async def test_failures_across_two_apps_throttle_the_account_with_429_and_retry_after(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_account_max_failures=3)
    async with running_app(settings) as (_, first), running_app(settings) as (_, second):
        assert (await first.post("/v1/accounts", json=account_payload(1))).status_code == 201
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
    assert by_email.status_code == 429, "the account is throttled whatever identifier names it"


async def test_throttle_releases_itself_when_the_window_ends(
    make_settings: Any, mongo: Any
) -> None:
    window = 2
    settings = make_settings(
        throttle_account_max_failures=2, throttle_account_window_seconds=window
    )
    async with running_app(settings) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
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
    settings = make_settings(throttle_account_max_failures=2)
    async with running_app(settings) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
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
    settings = make_settings(throttle_account_max_failures=limit, throttle_client_max_failures=1000)
    async with running_app(settings) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        responses = await asyncio.gather(
            *(client.post("/v1/auth/login", json=WRONG) for _ in range(attempts))
        )
        afterwards = await client.post("/v1/auth/login", json=RIGHT)

    statuses = [response.status_code for response in responses]
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == attempts - limit, statuses
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)
    assert afterwards.status_code == 429, "the account stays throttled until the window ends"
    windows = await mongo[database_name]["login_failures"].find({}).to_list()
    account_window = next(w for w in windows if w["_id"].startswith("account:"))
    assert account_window["count"] == limit, "only the verified failures stay counted"


async def test_a_successful_login_gives_its_reserved_attempt_back(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_account_max_failures=2)
    async with running_app(settings) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        statuses = [
            (await client.post("/v1/auth/login", json=body)).status_code
            for body in (WRONG, RIGHT, RIGHT, RIGHT, WRONG, RIGHT)
        ]

    assert statuses == [401, 200, 200, 200, 401, 429], "only the two failures count"


async def test_a_burst_of_concurrent_good_logins_from_one_address_leaves_no_failures(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    burst, limit = 8, 3
    settings = make_settings(throttle_client_max_failures=limit)
    async with running_app(settings) as (_, client):
        for index in range(burst):
            body = account_payload(index)
            assert (await client.post("/v1/accounts", json=body)).status_code == 201
            login = {"identifier": f"user{index}", "password": TEST_PASSWORD}
            assert (await client.post("/v1/auth/login", json=login)).status_code == 200
        # More logins in flight than the limit: some may be refused, none may count.
        await asyncio.gather(
            *(
                client.post(
                    "/v1/auth/login", json={"identifier": f"user{i}", "password": TEST_PASSWORD}
                )
                for i in range(burst)
            )
        )
        windows = (
            await mongo[database_name]["login_failures"]
            .find({"_id": {"$not": {"$regex": "^registration:"}}})
            .to_list()
        )
        after = [
            (
                await client.post(
                    "/v1/auth/login", json={"identifier": f"user{i}", "password": TEST_PASSWORD}
                )
            ).status_code
            for i in range(burst)
        ]

    assert windows, "the burst reserved login windows"
    assert all(window["count"] == 0 for window in windows), windows
    assert after == [200] * burst


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_an_attacker_at_one_address_does_not_lock_the_owner_out_at_another(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_account_max_failures=3, trusted_proxies="10.0.0.0/8")
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        assert (await proxy.post("/v1/accounts", json=account_payload(1))).status_code == 201
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


async def test_guessing_from_many_addresses_spares_the_networks_the_owner_logs_in_from(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    settings = make_settings(
        throttle_account_max_failures=3,
        throttle_account_total_max_failures=4,
        trusted_proxies="10.0.0.0/8",
    )
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        assert (await proxy.post("/v1/accounts", json=account_payload(1))).status_code == 201
        home = _from("192.0.2.10")
        assert (await proxy.post("/v1/auth/login", json=RIGHT, headers=home)).status_code == 200
        botnet = [
            (
                await proxy.post("/v1/auth/login", json=WRONG, headers=_from(f"198.51.100.{i}"))
            ).status_code
            for i in range(1, 7)
        ]
        new_place = await proxy.post("/v1/auth/login", json=RIGHT, headers=_from("203.0.113.5"))
        at_home = await proxy.post("/v1/auth/login", json=RIGHT, headers=home)

    assert botnet == [401, 401, 401, 401, 429, 429], "one guess per address, four in all"
    assert new_place.status_code == 429, "an unknown network waits while the attack goes on"
    assert at_home.status_code == 200, "the owner's own network is not locked out"
    stored = await mongo[database_name]["accounts"].find_one({"username_key": "user1"})
    assert stored["login_networks"] == ["192.0.2.10"]


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


async def test_a_network_logged_in_from_again_is_the_last_to_be_forgotten(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    settings = make_settings(remembered_networks=3, trusted_proxies="10.0.0.0/8")
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        assert (await proxy.post("/v1/accounts", json=account_payload(1))).status_code == 201
        for address in ("192.0.2.1", "198.51.100.1", "192.0.2.1", "203.0.113.1", "203.0.113.2"):
            login = await proxy.post("/v1/auth/login", json=RIGHT, headers=_from(address))
            assert login.status_code == 200

    stored = await mongo[database_name]["accounts"].find_one({"username_key": "user1"})
    assert stored["login_networks"] == ["192.0.2.1", "203.0.113.1", "203.0.113.2"]


async def test_a_slow_distributed_guesser_is_capped_per_day(make_settings: Any, mongo: Any) -> None:
    settings = make_settings(throttle_account_daily_max_failures=3, trusted_proxies="10.0.0.0/8")
    async with running_app(settings, client_address="10.0.0.2") as (_, proxy):
        assert (await proxy.post("/v1/accounts", json=account_payload(1))).status_code == 201
        guesses = [
            await proxy.post("/v1/auth/login", json=WRONG, headers=_from(f"198.51.100.{i}"))
            for i in range(1, 5)
        ]

    assert [guess.status_code for guess in guesses] == [401, 401, 401, 429]
    until_the_days_window_ends = 86_400 - time.time() % 86_400
    assert abs(int(guesses[-1].headers["retry-after"]) - until_the_days_window_ends) <= 3
