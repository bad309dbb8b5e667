"""Forged, expired and misdirected tokens on /v1/accounts/me all get 401 + WWW-Authenticate."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from login_service.auth.keys import KeySet
from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


@pytest.fixture
async def session(
    make_settings: Callable[..., Any], mongo: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, KeySet, str]]:
    """A client, the app's key set and a valid token for a registered account."""
    async with running_app(make_settings()) as (app, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        login = await client.post(
            "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}
        )
        yield client, app.state.services.keys, login.json()["access_token"]


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _resign(keys: KeySet, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(
        claims,
        keys.private_key,
        algorithm=keys.signing.algorithm,
        headers={"kid": keys.signing.kid, **header},
    )


async def _me(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await client.get("/v1/accounts/me", headers=headers)


async def test_a_valid_token_reads_the_profile(session: Any) -> None:
    client, _, token = session
    assert (await _me(client, token)).status_code == 200


ATTACKS: dict[str, Callable[[KeySet, str], str | None]] = {
    "missing": lambda keys, token: None,
    "garbage": lambda keys, token: "not.a.token",
    "header_nested_10001_deep": lambda keys, token: _nested_header(token, 10_001),
    "header_nested_within_the_length_bound": lambda keys, token: _nested_header(token, 900),
    "tampered_payload": lambda keys, token: ".".join(
        [
            token.split(".")[0],
            _b64(json.dumps({**_claims(token), "sub": "someone-else"}).encode()),
            token.split(".")[2],
        ]
    ),
    "alg_none": lambda keys, token: _unsigned(
        {"alg": "none", "typ": "JWT", "kid": keys.signing.kid}, _claims(token)
    ),
    "hs256_with_public_key_pem": lambda keys, token: _hs256_with_public_pem(keys, token),
    "wrong_audience": lambda keys, token: _resign(keys, {**_claims(token), "aud": "urn:other"}),
    "wrong_issuer": lambda keys, token: _resign(keys, {**_claims(token), "iss": "urn:evil"}),
    "unknown_kid": lambda keys, token: _resign(keys, _claims(token), kid="not-a-known-kid"),
    "other_token_type": lambda keys, token: _resign(keys, _claims(token), typ="dpop+jwt"),
    "foreign_key_same_kid": lambda keys, token: jwt.encode(
        _claims(token),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": keys.signing.kid},
    ),
    "expired": lambda keys, token: _resign(
        keys, {**_claims(token), "iat": int(time.time()) - 4000, "exp": int(time.time()) - 2000}
    ),
    "missing_jti": lambda keys, token: _resign(
        keys, {k: v for k, v in _claims(token).items() if k != "jti"}
    ),
    "missing_exp": lambda keys, token: _resign(
        keys, {k: v for k, v in _claims(token).items() if k != "exp"}
    ),
    "missing_sub": lambda keys, token: _resign(
        keys, {k: v for k, v in _claims(token).items() if k != "sub"}
    ),
    "missing_iat": lambda keys, token: _without(keys, token, "iat"),
    "missing_iss": lambda keys, token: _without(keys, token, "iss"),
    "missing_aud": lambda keys, token: _without(keys, token, "aud"),
    "not_yet_valid": lambda keys, token: _resign(
        keys, {**_claims(token), "nbf": int(time.time()) + 3600}
    ),
    "issued_in_the_future": lambda keys, token: _resign(
        keys, {**_claims(token), "iat": int(time.time()) + 3600}
    ),
    "unknown_subject": lambda keys, token: _resign(keys, {**_claims(token), "sub": "nobody"}),
}


def _nested_header(token: str, depth: int) -> str:
    """The token with a header of JSON objects nested ``depth`` deep (parsers recurse)."""
    header = b'{"a":' * depth + b"1" + b"}" * depth
    return f"{_b64(header)}.{token.split('.', 1)[1]}"


def _without(keys: KeySet, token: str, claim: str) -> str:
    return _resign(keys, {k: v for k, v in _claims(token).items() if k != claim})


def _hs256_with_public_pem(keys: KeySet, token: str) -> str:
    public_pem = keys.signing.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": keys.signing.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(token)).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_forged_or_invalid_tokens_are_401_with_www_authenticate(
    session: Any, attack: str
) -> None:
    client, keys, token = session

    response = await _me(client, ATTACKS[attack](keys, token))

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
