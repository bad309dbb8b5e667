"""Remembered verifications: a token verified once still expires, and forgeries are never
remembered."""

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from login_service.auth.keys import KeySet
from login_service.auth.token_verifier import AccessTokenVerifier
from login_service.auth.tokens import TokenPolicy, issue_access_token
from login_service.errors import InvalidToken

POLICY = TokenPolicy(issuer="urn:bank:login", audience="urn:bank:api", ttl_seconds=60)
KEYS = KeySet.create(ec.generate_private_key(ec.SECP256R1()), "ES256")


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    now = datetime.now(UTC)
    clock = [now.timestamp()]
    verifier = AccessTokenVerifier(KEYS, POLICY, clock=lambda: clock[0])
    token = issue_access_token(KEYS, POLICY, "account-1", now).access_token

    assert verifier.verify(token)["sub"] == "account-1"
    assert verifier.verify(token)["sub"] == "account-1"
    clock[0] += 60 + POLICY.leeway_seconds
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_a_tampered_token_is_refused_every_time_and_memory_stays_bounded() -> None:
    verifier = AccessTokenVerifier(KEYS, POLICY, max_remembered=2)
    tokens = [
        issue_access_token(KEYS, POLICY, f"account-{i}", datetime.now(UTC)).access_token
        for i in range(3)
    ]
    tampered = tokens[0][:-4] + ("AAAA" if not tokens[0].endswith("AAAA") else "BBBB")

    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(tampered)
    for token in tokens:
        verifier.verify(token)
    assert len(verifier._verified) == 2
