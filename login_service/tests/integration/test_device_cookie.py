"""Device trust: the cookie reaches every route that reads or reissues it, a bad header never
hides a good cookie, and key rotations keep devices trusted."""

from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration


# A client that keeps no cookies asks for the device token in a header.
ASK = {"X-Device-Token-Mode": "header"}


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def test_registering_a_second_account_from_a_browser_keeps_the_first_one_trusted(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/v1/accounts", json=account_payload(1))
    second = await client.post("/v1/accounts", json=account_payload(2))

    assert (first.status_code, second.status_code) == (201, 201)
    # The browser sent its cookie to registration, so the reissued token names both.
    cookie = client.cookies["device"]
    assert _claims(cookie)["acc"] == [first.json()["id"], second.json()["id"]]
    assert _claims(cookie)["jti"] == _claims(first.cookies["device"])["jti"]


async def test_a_stale_device_header_does_not_hide_a_valid_device_cookie(
    client: httpx.AsyncClient,
) -> None:
    registered = await client.post("/v1/accounts", json=account_payload(1), headers=ASK)
    device = registered.headers["x-device-token"]

    login = await client.post(
        "/v1/auth/login",
        json={"identifier": "user1", "password": TEST_PASSWORD},
        headers={"X-Device-Token": device[:-6] + "AAAAAA"},
    )

    assert login.status_code == 200
    # The cookie's device was recognised: its id is kept, not replaced by a new device.
    assert _claims(login.headers["x-device-token"])["jti"] == _claims(device)["jti"]


async def test_a_valid_device_header_is_read_when_the_cookie_is_stale(
    client: httpx.AsyncClient,
) -> None:
    registered = await client.post("/v1/accounts", json=account_payload(1), headers=ASK)
    device = registered.headers["x-device-token"]
    client.cookies.clear()
    client.cookies.set("device", "stale", domain="login.test", path="/v1")

    login = await client.post(
        "/v1/auth/login",
        json={"identifier": "user1", "password": TEST_PASSWORD},
        headers={"X-Device-Token": device},
    )

    assert login.status_code == 200
    assert _claims(login.headers["x-device-token"])["jti"] == _claims(device)["jti"]


async def test_rotating_the_signing_key_keeps_every_device_trusted(
    make_settings: Any, tmp_path: Path
) -> None:
    device_key = "a-random-device-token-secret-of-40-chars!"
    before = make_settings(device_token_key=device_key, dev_key_dir=tmp_path / "old")
    after = make_settings(device_token_key=device_key, dev_key_dir=tmp_path / "new")
    async with running_app(before) as (_, client):
        registered = await client.post("/v1/accounts", json=account_payload(1), headers=ASK)
        device = registered.headers["x-device-token"]
        old_kid = (await client.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]

    async with running_app(after) as (_, client):
        new_kid = (await client.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
        login = await client.post(
            "/v1/auth/login",
            json={"identifier": "user1", "password": TEST_PASSWORD},
            headers={"X-Device-Token": device},
        )

    assert old_kid != new_kid, "the signing key did rotate"
    assert login.status_code == 200
    assert _claims(login.headers["x-device-token"])["jti"] == _claims(device)["jti"]


async def test_rotating_the_device_token_key_keeps_devices_under_the_retired_one(
    make_settings: Any,
) -> None:
    retired, current = "r" * 40, "c" * 40
    async with running_app(make_settings(device_token_key=retired)) as (_, client):
        registered = await client.post("/v1/accounts", json=account_payload(1), headers=ASK)
        device = registered.headers["x-device-token"]

    rotated = make_settings(device_token_key=current, device_token_previous_keys=[retired])
    async with running_app(rotated) as (_, client):
        login = await client.post(
            "/v1/auth/login",
            json={"identifier": "user1", "password": TEST_PASSWORD},
            headers={"X-Device-Token": device},
        )

    assert login.status_code == 200
    assert _claims(login.headers["x-device-token"])["jti"] == _claims(device)["jti"]


async def test_a_next_device_token_key_is_trusted_before_this_replica_issues_under_it(
    make_settings: Any,
) -> None:
    """A rolling rotation: a replica already issuing under the new secret hands a device its
    token; a replica not yet switched, which lists that secret as next, still trusts it."""
    current, upcoming = "c" * 40, "n" * 40
    async with running_app(make_settings(device_token_key=upcoming)) as (_, client):
        registered = await client.post("/v1/accounts", json=account_payload(1), headers=ASK)
        device = registered.headers["x-device-token"]

    not_yet_switched = make_settings(device_token_key=current, device_token_next_keys=[upcoming])
    async with running_app(not_yet_switched) as (_, client):
        login = await client.post(
            "/v1/auth/login",
            json={"identifier": "user1", "password": TEST_PASSWORD},
            headers={"X-Device-Token": device},
        )

    assert login.status_code == 200
    assert _claims(login.headers["x-device-token"])["jti"] == _claims(device)["jti"]


async def test_the_device_token_header_goes_only_to_clients_that_ask_for_it(
    client: httpx.AsyncClient,
) -> None:
    login = {"identifier": "user1", "password": TEST_PASSWORD}
    browser = await client.post("/v1/accounts", json=account_payload(1))
    browser_login = await client.post("/v1/auth/login", json=login)
    client.cookies.clear()
    asking = await client.post("/v1/auth/login", json=login, headers=ASK)
    client.cookies.clear()
    sending = await client.post(
        "/v1/auth/login", json=login, headers={"X-Device-Token": asking.headers["x-device-token"]}
    )
    form = {"grant_type": "password", "username": "user1", "password": TEST_PASSWORD}
    token_asking = await client.post("/v1/auth/token", data=form, headers=ASK)

    for response in (browser, browser_login):
        assert "device" in response.cookies
        assert "x-device-token" not in response.headers, "page scripts could read it"
    for response in (asking, sending, token_asking):
        assert response.headers["x-device-token"] == response.cookies["device"]
