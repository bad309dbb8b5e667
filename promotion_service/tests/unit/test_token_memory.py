"""Remembered token verifications: a repeat of a verified token skips the signature check,
never the key's withdrawal, the key-trust cap, or the token's expiry."""

import asyncio
import json
import time

import httpx
import pytest

from promotion_service.auth.jwks import JwksClient
from promotion_service.auth.tokens import TokenVerifier
from promotion_service.errors import InvalidToken, JwksUnavailable
from tests.jwks_server import AUDIENCE, ISSUER, make_key, make_token

RS = make_key("RS256")
OTHER = make_key("RS256")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class LoginJwks:
    """The login service's JWKS endpoint: which keys it publishes, and whether it answers."""

    def __init__(self) -> None:
        self.keys = [RS.public_jwk]
        self.down = False

    def respond(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        return httpx.Response(200, content=json.dumps({"keys": self.keys}))


def verifier_for(login: LoginJwks) -> tuple[TokenVerifier, Clock, Clock]:
    """A verifier with a monotonic clock for the JWKS cache and a wall clock for tokens."""
    jwks_clock, wall_clock = Clock(1000.0), Clock(time.time())
    jwks = JwksClient(
        "http://login/.well-known/jwks.json",
        httpx.AsyncClient(transport=httpx.MockTransport(login.respond)),
        ttl_seconds=300,
        min_refetch_interval_seconds=10,
        max_key_age_seconds=3600,
        clock=jwks_clock,
    )
    verifier = TokenVerifier(
        jwks, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=10, clock=wall_clock
    )
    return verifier, jwks_clock, wall_clock


async def test_a_repeated_token_gives_the_same_caller_without_a_second_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier, _, _ = verifier_for(LoginJwks())
    token = make_token(RS, "acct-7")
    first = await verifier.verify(token)

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a remembered token must not be decoded again")

    monkeypatch.setattr("promotion_service.auth.tokens.jwt.decode", no_decoding)
    assert await verifier.verify(token) == first
    assert first.account_id == "acct-7"


async def test_a_remembered_token_is_refused_once_it_expires() -> None:
    verifier, _, wall_clock = verifier_for(LoginJwks())
    token = make_token(RS, claims={"exp": int(wall_clock.now) + 60})
    await verifier.verify(token)

    wall_clock.now += 60 + 10  # exp plus the leeway
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_a_remembered_token_is_refused_when_its_key_is_withdrawn() -> None:
    login = LoginJwks()
    verifier, jwks_clock, _ = verifier_for(login)
    token = make_token(RS)
    await verifier.verify(token)

    login.keys = [OTHER.public_jwk]  # the login service retires the key
    jwks_clock.now += 301  # the cached JWKS is refetched after its TTL
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_a_remembered_token_cannot_outlive_the_key_trust_cap() -> None:
    login = LoginJwks()
    verifier, jwks_clock, _ = verifier_for(login)
    token = make_token(RS)
    await verifier.verify(token)

    login.down = True
    jwks_clock.now += 3600  # keys fetched an hour ago, refreshes failing: nothing is trusted
    with pytest.raises(JwksUnavailable):
        await verifier.verify(token)


class SlowLoginJwks(LoginJwks):
    """A JWKS endpoint that takes a moment to answer, so requests interleave."""

    async def respond(self, request: httpx.Request) -> httpx.Response:  # type: ignore[override]
        await asyncio.sleep(0.01)
        return super().respond(request)


async def test_two_requests_with_one_expired_remembered_token_are_both_refused() -> None:
    login = SlowLoginJwks()
    verifier, jwks_clock, wall_clock = verifier_for(login)
    token = make_token(RS, claims={"exp": int(wall_clock.now) + 60})
    await verifier.verify(token)

    wall_clock.now += 60 + 10
    jwks_clock.now += 301  # the keys are due for a refetch, which fails: the cached ones serve
    login.down = True
    outcomes = await asyncio.gather(
        verifier.verify(token), verifier.verify(token), return_exceptions=True
    )

    assert [type(outcome) for outcome in outcomes] == [InvalidToken, InvalidToken]
