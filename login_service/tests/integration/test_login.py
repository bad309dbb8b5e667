"""Login, tokens, JWKS and the profile, against the real MongoDB wire server."""

from typing import Any

import httpx
import jwt
import pytest
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, account_payload

pytestmark = pytest.mark.integration


async def _register(client: httpx.AsyncClient, index: int = 1, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/accounts", json=account_payload(index, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("identifier", ["user1", "USER1", "User1@Example.com", "+44 20 7000 0001"])
async def test_login_by_username_email_or_phone_returns_an_uncacheable_bearer_token(
    client: httpx.AsyncClient, identifier: str
) -> None:
    await _register(client)

    response = await client.post(
        "/v1/auth/login", json={"identifier": identifier, "password": TEST_PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1800
    assert set(claims) >= {"iss", "aud", "sub", "iat", "exp", "jti"}


async def test_oauth2_token_form_logs_in_like_the_json_endpoint(client: httpx.AsyncClient) -> None:
    account = await _register(client)

    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "user1@example.com", "password": TEST_PASSWORD},
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()["access_token"]
    me = await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == account["id"]


async def test_unknown_user_and_wrong_password_get_the_same_401(client: httpx.AsyncClient) -> None:
    await _register(client)

    wrong = await client.post(
        "/v1/auth/login", json={"identifier": "user1", "password": "not the password at all"}
    )
    unknown = await client.post(
        "/v1/auth/login", json={"identifier": "nobody", "password": TEST_PASSWORD}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"
    strip = {"instance", "request_id"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }


async def test_me_shows_first_login_time_and_order_after_the_first_login(
    client: httpx.AsyncClient,
) -> None:
    await _register(client)
    login = await client.post(
        "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}
    )
    token = login.json()["access_token"]

    me = await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})

    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    profile = me.json()
    assert profile["first_login_order"] == 1
    assert profile["first_login_at"] is not None
    assert "password_hash" not in profile


async def test_second_login_keeps_the_first_login_record_and_writes_no_second_event(
    client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    await _register(client)
    credentials = {"identifier": "user1", "password": TEST_PASSWORD}
    first = await client.post("/v1/auth/login", json=credentials)
    before = await mongo[database_name]["accounts"].find_one({"username_key": "user1"})

    second = await client.post("/v1/auth/login", json=credentials)

    assert first.status_code == second.status_code == 200
    after = await mongo[database_name]["accounts"].find_one({"username_key": "user1"})
    assert before is not None
    assert after is not None
    assert after["first_login_at"] == before["first_login_at"]
    assert after["first_login_order"] == 1
    assert await mongo[database_name]["outbox"].count_documents({}) == 1


async def test_login_rehashes_a_password_hashed_with_older_parameters(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    from tests.support import running_app

    async with running_app(make_settings()) as (_, http):
        await _register(http)
    stronger = make_settings(argon2_memory_cost_kib=19456 * 2)
    async with running_app(stronger) as (_, http):
        response = await http.post(
            "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}
        )

    assert response.status_code == 200
    stored = await mongo[database_name]["accounts"].find_one({"username_key": "user1"})
    assert stored is not None
    assert stored["password_hash"].startswith("$argon2id$v=19$m=38912,t=2,p=1$")


async def test_jwks_publishes_the_signing_key_and_its_tokens_verify_with_it(
    client: httpx.AsyncClient,
) -> None:
    await _register(client)
    login = await client.post(
        "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}
    )
    token = login.json()["access_token"]

    jwks = (await client.get("/.well-known/jwks.json")).json()

    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == kid]
    assert jwk["alg"] == "RS256"
    assert "d" not in jwk
    public_key = jwt.PyJWK(jwk).key
    claims = jwt.decode(
        token, public_key, algorithms=[jwk["alg"]], audience="urn:bank:api", issuer="urn:bank:login"
    )
    assert claims["sub"]


async def test_registration_and_logins_send_the_device_token_as_cookie_and_header_if_asked(
    client: httpx.AsyncClient,
) -> None:
    ask = {"X-Device-Token-Mode": "header"}
    registered = await client.post("/v1/accounts", json=account_payload(1), headers=ask)
    login = await client.post(
        "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}, headers=ask
    )
    token = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "user1", "password": TEST_PASSWORD},
        headers=ask,
    )

    for response in (registered, login, token):
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"device={response.headers['x-device-token']};")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/v1;" in cookie, "registration (/v1/accounts) must receive it too"
        assert "Secure" not in cookie, "development serves plain HTTP on localhost"
    device_ids = {
        jwt.decode(r.headers["x-device-token"], options={"verify_signature": False})["jti"]
        for r in (registered, login, token)
    }
    assert len(device_ids) == 1, "the browser keeps one device id across reissues"


async def test_cors_lets_a_configured_origin_send_the_device_token_but_never_read_it(
    client: httpx.AsyncClient,
) -> None:
    origin = "http://localhost:5173"
    preflight = await client.options(
        "/v1/auth/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-device-token",
        },
    )
    login = await client.post(
        "/v1/auth/login",
        json={"identifier": "nobody", "password": "not the password"},
        headers={"Origin": origin},
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-device-token" in preflight.headers["access-control-allow-headers"].lower()
    assert login.headers["access-control-allow-origin"] == origin
    exposed = login.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    # Page scripts must not read what the HttpOnly cookie keeps from them.
    assert "x-device-token" not in exposed
