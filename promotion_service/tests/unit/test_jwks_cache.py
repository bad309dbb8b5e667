"""The JWKS cache: which keys it keeps, when it fetches (driven by a fake clock)."""

import json

import httpx
import pytest

from promotion_service.auth.exceptions import JwksUnavailable
from promotion_service.auth.jwks import JwksClient, parse_jwks
from tests.jwks_server import make_key

RS = make_key("RS256")
ES = make_key("ES256")


def test_only_signing_keys_with_an_allowed_algorithm_are_kept() -> None:
    document = {
        "keys": [
            RS.public_jwk,
            ES.public_jwk,
            {**RS.public_jwk, "kid": "no-alg", "alg": None},
            {**RS.public_jwk, "kid": "hmac", "alg": "HS256"},
            {**RS.public_jwk, "kid": "none", "alg": "none"},
            {**RS.public_jwk, "kid": "enc", "use": "enc"},
            {**RS.public_jwk, "kid": "mismatch", "alg": "ES256"},
            {"kty": "oct", "kid": "secret", "alg": "RS256", "k": "c2VjcmV0"},
            "garbage",
        ]
    }

    keys = parse_jwks(document)

    assert set(keys) == {RS.kid, ES.kid}
    assert keys[RS.kid].algorithm_name == "RS256"


def test_a_document_without_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="JWKS"):
        parse_jwks({"nope": []})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwks_client(keys: list[dict[str, object]], fetches: list[int], *, fail: bool = False):  # type: ignore[no-untyped-def]
    def respond(request: httpx.Request) -> httpx.Response:
        fetches.append(1)
        if fail:
            return httpx.Response(503)
        return httpx.Response(200, content=json.dumps({"keys": keys}))

    clock = Clock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(respond))
    client = JwksClient(
        "http://login/.well-known/jwks.json",
        http,
        ttl_seconds=300,
        min_refetch_interval_seconds=10,
        clock=clock,
    )
    return client, clock


async def test_keys_are_cached_for_the_ttl_then_refetched() -> None:
    fetches: list[int] = []
    client, clock = jwks_client([RS.public_jwk], fetches)

    assert await client.key_for(RS.kid) is not None
    assert await client.key_for(RS.kid) is not None
    clock.now += 301
    assert await client.key_for(RS.kid) is not None

    assert len(fetches) == 2


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    fetches: list[int] = []
    client, clock = jwks_client([RS.public_jwk], fetches)
    await client.key_for(RS.kid)

    for _ in range(10):
        assert await client.key_for("made-up") is None
    clock.now += 11
    assert await client.key_for("made-up") is None

    assert len(fetches) == 2


async def test_no_keys_at_all_is_unavailable_not_unknown() -> None:
    client, _ = jwks_client([], [], fail=True)

    with pytest.raises(JwksUnavailable):
        await client.key_for(RS.kid)
