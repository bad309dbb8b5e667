"""The device cookie reaches every route that reads or reissues it, and a bad header never
hides a good cookie."""

from typing import Any

import httpx
import jwt
import pytest

from tests.support import TEST_PASSWORD, account_payload

pytestmark = pytest.mark.integration


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
    assert _claims(cookie)["jti"] == _claims(first.headers["x-device-token"])["jti"]


async def test_a_stale_device_header_does_not_hide_a_valid_device_cookie(
    client: httpx.AsyncClient,
) -> None:
    registered = await client.post("/v1/accounts", json=account_payload(1))
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
    registered = await client.post("/v1/accounts", json=account_payload(1))
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
