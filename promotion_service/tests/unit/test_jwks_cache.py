"""The JWKS cache: which keys it keeps, when it fetches (driven by a fake clock)."""

import asyncio
import json

import httpx
import pytest

from promotion_service.auth.jwks import JwksClient, parse_jwks
from promotion_service.errors import JwksUnavailable
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


def jwks_client(  # type: ignore[no-untyped-def]
    keys: list[dict[str, object]],
    fetches: list[int],
    *,
    fail: bool = False,
    login_down: asyncio.Event | None = None,
):
    def respond(request: httpx.Request) -> httpx.Response:
        fetches.append(1)
        if fail or (login_down is not None and login_down.is_set()):
            return httpx.Response(503)
        return httpx.Response(200, content=json.dumps({"keys": keys}))

    clock = Clock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(respond))
    client = JwksClient(
        "http://login/.well-known/jwks.json",
        http,
        ttl_seconds=300,
        min_refetch_interval_seconds=10,
        max_key_age_seconds=3600,
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


async def test_cached_keys_serve_while_the_login_service_is_away_up_to_the_key_age_cap() -> None:
    fetches: list[int] = []
    login_down = asyncio.Event()
    client, clock = jwks_client([RS.public_jwk], fetches, login_down=login_down)
    assert await client.key_for(RS.kid) is not None
    login_down.set()

    clock.now += 3599  # long past the TTL, refreshes failing, still within the cap
    assert await client.key_for(RS.kid) is not None
    await client.check()
    clock.now += 1  # the cap: keys fetched an hour ago are no longer trusted
    with pytest.raises(JwksUnavailable):
        await client.key_for(RS.kid)
    with pytest.raises(JwksUnavailable):
        await client.check()

    login_down.clear()
    clock.now += 10  # the next refetch allowed succeeds: trusted again
    assert await client.key_for(RS.kid) is not None


async def test_readiness_checks_obey_the_refetch_rate_limit() -> None:
    fetches: list[int] = []
    login_down = asyncio.Event()
    client, clock = jwks_client([RS.public_jwk], fetches, login_down=login_down)
    await client.check()
    login_down.set()
    clock.now += 301  # keys stale: one refetch is due

    for _ in range(20):
        await client.check()  # cached keys within the cap: ready, without asking again

    assert len(fetches) == 2
    clock.now += 11
    await client.check()
    assert len(fetches) == 3


async def test_readiness_without_any_keys_is_unavailable_and_rate_limited() -> None:
    fetches: list[int] = []
    client, _ = jwks_client([], fetches, fail=True)

    for _ in range(5):
        with pytest.raises(JwksUnavailable):
            await client.check()

    assert len(fetches) == 1
