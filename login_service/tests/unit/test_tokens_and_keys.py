"""Signing keys, kids, JWKS and token verification for every supported algorithm."""

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from login_service.auth.key_loading import load_key_set, load_or_create_dev_key
from login_service.auth.keys import (
    KeySet,
    PrivateKey,
    VerificationKey,
    generate_private_key,
    jwk_thumbprint,
)
from login_service.auth.tokens import TokenPolicy, issue_access_token, verify_access_token
from login_service.config import Settings
from login_service.errors import InvalidToken, KeyConfigurationError

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
POLICY = TokenPolicy(issuer="urn:bank:login", audience="urn:bank:api")
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def private_keys() -> dict[str, PrivateKey]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "RS256": rsa_key,
        "PS256": rsa_key,
        "ES256": generate_private_key("ES256"),
        "EdDSA": generate_private_key("EdDSA"),
    }


def test_kid_is_the_rfc_7638_thumbprint() -> None:
    # The example key and thumbprint of RFC 7638 section 3.1.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
            "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
            "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
            "QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tokens_sign_and_verify_with_each_algorithm_and_the_jwks_states_it(
    private_keys: dict[str, PrivateKey], algorithm: str
) -> None:
    keys = KeySet.create(private_keys[algorithm], algorithm)
    issued = issue_access_token(keys, POLICY, "account-1", NOW)

    claims = verify_access_token(keys, POLICY, issued.access_token)

    assert claims["sub"] == "account-1"
    assert claims["exp"] - claims["iat"] == 1800
    (jwk,) = keys.jwks()["keys"]
    assert jwk["alg"] == algorithm
    assert jwk["kid"] == jwt.get_unverified_header(issued.access_token)["kid"]
    assert "d" not in jwk
    third_party = jwt.decode(
        issued.access_token,
        jwt.PyJWK(jwk).key,
        algorithms=[jwk["alg"]],
        audience=POLICY.audience,
        issuer=POLICY.issuer,
    )
    assert third_party["jti"] == issued.jti


def test_a_key_verifies_only_the_algorithm_it_states(private_keys: dict[str, PrivateKey]) -> None:
    rs256 = KeySet.create(private_keys["RS256"], "RS256")
    ps256 = KeySet.create(private_keys["PS256"], "PS256")
    token = issue_access_token(ps256, POLICY, "account-1", NOW).access_token

    with pytest.raises(InvalidToken):
        verify_access_token(rs256, POLICY, token)


@pytest.mark.parametrize(
    ("algorithm", "key_algorithm"), [("RS256", "ES256"), ("ES256", "EdDSA"), ("EdDSA", "RS256")]
)
def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(
    private_keys: dict[str, PrivateKey], algorithm: str, key_algorithm: str
) -> None:
    with pytest.raises(KeyConfigurationError):
        KeySet.create(private_keys[key_algorithm], algorithm)


def test_es256_refuses_curves_other_than_p256() -> None:
    with pytest.raises(KeyConfigurationError, match="P-256"):
        KeySet.create(ec.generate_private_key(ec.SECP384R1()), "ES256")


def test_expired_tokens_are_refused_after_the_leeway(private_keys: dict[str, PrivateKey]) -> None:
    keys = KeySet.create(private_keys["ES256"], "ES256")
    issued = issue_access_token(keys, POLICY, "a", NOW - timedelta(seconds=1800 + 11))

    with pytest.raises(InvalidToken):
        verify_access_token(keys, POLICY, issued.access_token)


def test_tokens_of_a_previous_key_still_verify_after_rotation(
    private_keys: dict[str, PrivateKey],
) -> None:
    old = KeySet.create(private_keys["RS256"], "RS256")
    new = KeySet.create(
        private_keys["EdDSA"],
        "EdDSA",
        previous=(VerificationKey.of(old.signing.public_key, "RS256"),),
    )
    token = issue_access_token(old, POLICY, "account-1", NOW).access_token

    assert verify_access_token(new, POLICY, token)["sub"] == "account-1"
    assert [key["alg"] for key in new.jwks()["keys"]] == ["EdDSA", "RS256"]


def test_a_next_key_is_published_and_accepted_before_it_signs(
    private_keys: dict[str, PrivateKey],
) -> None:
    """The first step of a rotation: a replica still signing with the current key already
    publishes the next one and accepts the tokens a replica already switched to it signs."""
    next_keys = KeySet.create(private_keys["ES256"], "ES256")
    current = KeySet.create(
        private_keys["RS256"],
        "RS256",
        upcoming=(VerificationKey.of(next_keys.signing.public_key, "ES256"),),
    )
    signed_by_a_switched_replica = issue_access_token(next_keys, POLICY, "a", NOW).access_token
    signed_here = issue_access_token(current, POLICY, "b", NOW).access_token

    assert verify_access_token(current, POLICY, signed_by_a_switched_replica)["sub"] == "a"
    assert jwt.get_unverified_header(signed_here)["kid"] == current.signing.kid
    assert [key["kid"] for key in current.jwks()["keys"]] == [
        current.signing.kid,
        next_keys.signing.kid,
    ]


def test_dev_key_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    first = load_or_create_dev_key(tmp_path / "keys", "ES256")
    second = load_or_create_dev_key(tmp_path / "keys", "ES256")

    (path,) = (tmp_path / "keys").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.private_numbers() == second.private_numbers()  # type: ignore[union-attr]


def test_previous_public_keys_files_are_published(tmp_path: Path) -> None:
    old = generate_private_key("ES256")
    old_file = tmp_path / "old.pem"
    old_file.write_bytes(
        old.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = Settings(
        jwt_algorithm="EdDSA",
        dev_key_dir=tmp_path / "dev",
        jwt_previous_public_keys_files=f"ES256:{old_file}",
    )

    keys = load_key_set(settings)

    assert [key["alg"] for key in keys.jwks()["keys"]] == ["EdDSA", "ES256"]


def test_next_public_keys_files_are_published_after_the_signing_key(tmp_path: Path) -> None:
    upcoming, retired = generate_private_key("ES256"), generate_private_key("EdDSA")
    files = {}
    for name, key in (("next", upcoming), ("old", retired)):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    settings = Settings(
        jwt_algorithm="RS256",
        dev_key_dir=tmp_path / "dev",
        jwt_next_public_keys_files=str(files["next"]),
        jwt_previous_public_keys_files=str(files["old"]),
    )

    keys = load_key_set(settings)

    assert [key["alg"] for key in keys.jwks()["keys"]] == ["RS256", "ES256", "EdDSA"]
    assert keys.signing.algorithm == "RS256"


def test_tokens_of_a_previous_key_are_refused_once_expired(
    private_keys: dict[str, PrivateKey],
) -> None:
    old = KeySet.create(private_keys["RS256"], "RS256")
    new = KeySet.create(
        private_keys["ES256"],
        "ES256",
        previous=(VerificationKey.of(old.signing.public_key, "RS256"),),
    )
    expired = issue_access_token(old, POLICY, "a", NOW - timedelta(seconds=1800 + 11))

    with pytest.raises(InvalidToken):
        verify_access_token(new, POLICY, expired.access_token)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"typ": "at+jwt"}, "unexpected typ"),
        ({"typ": None}, "unexpected typ"),
        ({"crit": ["exp"]}, "malformed token"),
        ({"kid": None}, "missing kid"),
    ],
)
def test_headers_other_than_the_issued_ones_are_refused(
    private_keys: dict[str, PrivateKey], header: dict[str, object], reason: str
) -> None:
    keys = KeySet.create(private_keys["ES256"], "ES256")
    claims = jwt.decode(
        issue_access_token(keys, POLICY, "a", NOW).access_token,
        options={"verify_signature": False},
    )
    headers = {"kid": keys.signing.kid, "typ": "JWT", **header}
    if headers["kid"] is None:
        del headers["kid"]  # PyJWT drops a null typ itself but refuses a null kid
    token = jwt.encode(
        claims,
        keys.private_key,
        algorithm="ES256",
        headers=headers,
    )

    with pytest.raises(InvalidToken) as refused:
        verify_access_token(keys, POLICY, token)
    assert refused.value.reason == reason


def test_a_token_issued_in_the_future_is_refused(private_keys: dict[str, PrivateKey]) -> None:
    keys = KeySet.create(private_keys["ES256"], "ES256")
    issued = issue_access_token(keys, POLICY, "a", datetime.now(UTC) + timedelta(seconds=120))

    with pytest.raises(InvalidToken):
        verify_access_token(keys, POLICY, issued.access_token)


def test_workers_creating_the_dev_key_at_once_all_read_one_key(tmp_path: Path) -> None:
    """Threads share a process id, as workers of two containers sharing the key folder can:
    every one of them must end with the key the folder holds."""
    from concurrent.futures import ThreadPoolExecutor

    from cryptography.hazmat.primitives import serialization

    def public(key: object) -> bytes:
        return key.public_key().public_bytes(  # type: ignore[attr-defined, no-any-return]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    for attempt in range(5):
        folder = tmp_path / f"keys-{attempt}"
        with ThreadPoolExecutor(8) as pool:
            started = [pool.submit(load_or_create_dev_key, folder, "RS256") for _ in range(8)]
            keys = [future.result() for future in started]
        held = load_or_create_dev_key(folder, "RS256")
        assert {public(key) for key in keys} == {public(held)}
