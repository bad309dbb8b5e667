"""Bearer tokens checked against a real JWKS endpoint: every bad token is a 401, never a 500."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from promotion_service import create_app
from promotion_service.config import Settings
from promotion_service.db import VOUCHERS, Database
from tests.integration.api_fixtures import Keys, assert_problem, bearer, insert_voucher, started
from tests.jwks_server import AUDIENCE, ISSUER, JwksServer, make_token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(kid: str) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "acct-me", "iat": now, "exp": now + 600}
    return f"{header}.{_b64(json.dumps({**claims, 'jti': 'x'}).encode())}."


def hs256_with_public_key(keys: Keys) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "acct-me", "iat": now, "exp": now + 600}
    segments = [
        _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.rs256.kid}).encode()),
        _b64(json.dumps({**claims, "jti": "x"}).encode()),
    ]
    signing_input = ".".join(segments).encode()
    signature = hmac.new(keys.rs256.public_pem(), signing_input, hashlib.sha256).digest()
    return f"{segments[0]}.{segments[1]}.{_b64(signature)}"


def nested_header(token: str, depth: int) -> str:
    """The token with a header of JSON objects nested ``depth`` deep (parsers recurse)."""
    header = b'{"a":' * depth + b"1" + b"}" * depth
    return f"{_b64(header)}.{token.split('.', 1)[1]}"


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "acct-victim"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize("alg", ["rs256", "ps256", "es256", "eddsa"])
async def test_tokens_of_every_allowed_algorithm_are_accepted(
    client: httpx.AsyncClient, keys: Keys, alg: str
) -> None:
    token = make_token(getattr(keys, alg), "acct-me")

    response = await client.get("/v1/vouchers", headers=bearer(token))

    assert response.status_code == 200, response.text


BAD_TOKENS: dict[str, Callable[[Keys], str]] = {
    "expired": lambda k: make_token(k.rs256, claims={"exp": int(time.time()) - 120}),
    "issued in the future": lambda k: make_token(k.rs256, claims={"iat": int(time.time()) + 600}),
    "tampered": lambda k: tampered(make_token(k.rs256, "acct-me")),
    "alg none": lambda k: unsigned_token(k.rs256.kid),
    "HS256 signed with the public key": hs256_with_public_key,
    "wrong audience": lambda k: make_token(k.rs256, claims={"aud": "urn:other:api"}),
    "wrong issuer": lambda k: make_token(k.rs256, claims={"iss": "urn:evil"}),
    "unknown kid": lambda k: make_token(k.unpublished),
    "no kid": lambda k: jwt.encode({"sub": "x"}, k.rs256.private, algorithm="RS256"),
    "alg of another key": lambda k: make_token(k.ps256, headers={"kid": k.rs256.kid}),
    "missing jti": lambda k: make_token(k.rs256, drop=("jti",)),
    "missing sub": lambda k: make_token(k.rs256, drop=("sub",)),
    "missing exp": lambda k: make_token(k.rs256, drop=("exp",)),
    "missing iat": lambda k: make_token(k.rs256, drop=("iat",)),
    "sub not a string": lambda k: make_token(k.rs256, claims={"sub": 42}),
    "garbage": lambda k: "not.a.token",
    "header nested 10,001 deep": lambda k: nested_header(make_token(k.rs256, "acct-me"), 10_001),
    "header nested within the length bound": lambda k: nested_header(
        make_token(k.rs256, "acct-me"), 900
    ),
    "empty segments": lambda k: "..",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_a_bad_token_is_401_with_a_bearer_challenge_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, keys: Keys, case: str
) -> None:
    voucher_id = await insert_voucher(db, "acct-me")
    token = BAD_TOKENS[case](keys)

    listing = await client.get("/v1/vouchers", headers=bearer(token))
    redeem = await client.post(
        f"/v1/vouchers/{voucher_id}/redeem",
        json={"amount": "10.00", "currency": "EUR", "purchase_id": "p"},
        headers=bearer(token),
    )

    for response in (listing, redeem):
        assert response.status_code == 401, (case, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert_problem(response, 401, "invalid-token")
        assert token not in response.text
    stored = await db[VOUCHERS].find_one({"_id": voucher_id})
    assert stored is not None
    assert stored["status"] == "active"


@pytest.mark.parametrize("authorization", [None, "", "Basic YTpi", "Bearer"])
async def test_a_missing_bearer_token_is_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = await client.get("/v1/vouchers", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(response, 401, "not-authenticated")


async def test_a_key_published_after_start_is_fetched_on_its_first_token(
    client: httpx.AsyncClient, keys: Keys, jwks: JwksServer
) -> None:
    await client.get("/v1/vouchers", headers=bearer(make_token(keys.rs256, "acct-me")))
    jwks.keys.append(keys.unpublished.public_jwk)  # key rotation at the login service

    response = await client.get(
        "/v1/vouchers", headers=bearer(make_token(keys.unpublished, "acct-me"))
    )

    assert response.status_code == 200


async def test_unknown_kids_do_not_refetch_the_jwks_more_than_the_rate_limit_allows(
    jwks: JwksServer, keys: Keys, api_settings: Settings
) -> None:
    limited = api_settings.model_copy(update={"jwks_min_refetch_interval_seconds": 60})
    app = create_app(limited)
    async with started(app, "http://t") as c:
        await c.get("/v1/vouchers", headers=bearer(make_token(keys.rs256)))
        before = jwks.fetches
        for _ in range(20):
            response = await c.get("/v1/vouchers", headers=bearer(make_token(keys.unpublished)))
            assert response.status_code == 401

    assert jwks.fetches - before <= 1


async def test_an_unreachable_jwks_is_503_not_500(
    client: httpx.AsyncClient, keys: Keys, jwks: JwksServer
) -> None:
    jwks.failing = True

    response = await client.get("/v1/vouchers", headers=bearer(make_token(keys.rs256)))

    assert_problem(response, 503, "token-keys-unavailable")
    assert response.headers["retry-after"] == "5"
    readiness = await client.get("/readyz")
    assert readiness.status_code == 503
    assert readiness.json()["status"] == "unavailable"
    assert readiness.json()["checks"]["jwks"].startswith("error")
    assert readiness.json()["checks"]["mongodb"] == "ok"


async def test_cached_keys_past_their_maximum_age_are_not_trusted_while_the_jwks_is_down(
    jwks: JwksServer, keys: Keys, api_settings: Settings
) -> None:
    """Keys the login service may have withdrawn meanwhile: 503 with Retry-After, not a 200."""
    capped = api_settings.model_copy(
        update={"jwks_cache_ttl_seconds": 0.2, "jwks_max_key_age_seconds": 0.5}
    )
    app = create_app(capped)
    async with started(app, "http://t") as c:
        token = make_token(keys.rs256)
        assert (await c.get("/v1/vouchers", headers=bearer(token))).status_code == 200
        jwks.failing = True
        await asyncio.sleep(0.6)  # past the cap: the keys were fetched more than 0.5 s ago

        response = await c.get("/v1/vouchers", headers=bearer(token))
        readiness = await c.get("/readyz")

    assert_problem(response, 503, "token-keys-unavailable")
    assert response.headers["retry-after"] == "5"
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["jwks"] == "error: JwksUnavailable"
