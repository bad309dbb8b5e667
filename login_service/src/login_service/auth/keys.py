"""Signing and verification keys: loading, key-type checks, RFC 7638 kids and the JWKS."""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from login_service.errors import KeyConfigurationError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

SUPPORTED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
RSA_MIN_BITS = 2048
# Members that RFC 7638 hashes, per key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def check_key_matches_algorithm(key: PrivateKey | PublicKey, algorithm: str) -> None:
    """Refuse a key whose type cannot produce ``algorithm`` signatures."""
    if algorithm in ("RS256", "PS256"):
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise KeyConfigurationError(f"{algorithm} needs an RSA key")
        if key.key_size < RSA_MIN_BITS:
            raise KeyConfigurationError(f"RSA keys must have at least {RSA_MIN_BITS} bits")
    elif algorithm == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) or not (
            isinstance(key.curve, ec.SECP256R1)
        ):
            raise KeyConfigurationError("ES256 needs an EC key on curve P-256")
    elif algorithm == "EdDSA":
        if not isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            raise KeyConfigurationError("EdDSA needs an Ed25519 key")
    else:
        raise KeyConfigurationError(f"unsupported JWT algorithm {algorithm!r}")


def generate_private_key(algorithm: str) -> PrivateKey:
    """A fresh key of the type ``algorithm`` needs."""
    if algorithm in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyConfigurationError(f"unsupported JWT algorithm {algorithm!r}")


def public_jwk(public_key: PublicKey) -> dict[str, Any]:
    """The public key as a JWK dict (key material only)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        jwk = dict(RSAAlgorithm.to_jwk(public_key, as_dict=True))
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk = dict(ECAlgorithm.to_jwk(public_key, as_dict=True))
    else:
        jwk = dict(OKPAlgorithm.to_jwk(public_key, as_dict=True))
    # "use": "sig" is stated instead; RFC 7517 advises against both.
    jwk.pop("key_ops", None)
    return jwk


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url without padding."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with the one algorithm it may verify, named by its kid."""

    kid: str
    algorithm: str
    public_key: PublicKey

    @classmethod
    def of(cls, public_key: PublicKey, algorithm: str) -> "VerificationKey":
        check_key_matches_algorithm(public_key, algorithm)
        return cls(
            kid=jwk_thumbprint(public_jwk(public_key)), algorithm=algorithm, public_key=public_key
        )

    def jwk(self) -> dict[str, Any]:
        return {**public_jwk(self.public_key), "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass(frozen=True, slots=True)
class KeySet:
    """The current signing key plus every key whose tokens are accepted.

    ``upcoming`` keys are published and accepted before any replica signs with them, so that
    a rolling deploy of a new signing key never meets a replica or verifier that does not
    know it; ``previous`` keys stay until the last token they signed has expired.
    """

    private_key: PrivateKey = field(repr=False)
    signing: VerificationKey
    previous: tuple[VerificationKey, ...] = ()
    upcoming: tuple[VerificationKey, ...] = ()
    # The JWKS never changes for a key set: serialised once, served as bytes.
    _jwks_json: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_jwks_json", json.dumps(self.jwks()).encode())

    @classmethod
    def create(
        cls,
        private_key: PrivateKey,
        algorithm: str,
        previous: tuple[VerificationKey, ...] = (),
        upcoming: tuple[VerificationKey, ...] = (),
    ) -> "KeySet":
        check_key_matches_algorithm(private_key, algorithm)
        signing = VerificationKey.of(private_key.public_key(), algorithm)
        return cls(private_key=private_key, signing=signing, previous=previous, upcoming=upcoming)

    def _accepted(self) -> tuple[VerificationKey, ...]:
        return (self.signing, *self.upcoming, *self.previous)

    def find(self, kid: str) -> VerificationKey | None:
        for key in self._accepted():
            if key.kid == kid:
                return key
        return None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        seen: dict[str, dict[str, Any]] = {}
        for key in self._accepted():
            seen.setdefault(key.kid, key.jwk())
        return {"keys": list(seen.values())}

    def jwks_json(self) -> bytes:
        return self._jwks_json


def load_private_key_pem(pem: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigurationError(
            "the JWT private key is not an unencrypted PEM private key"
        ) from exc
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise KeyConfigurationError("the JWT private key must be RSA, EC P-256 or Ed25519")
    return key


def load_public_key_pem(pem: bytes) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyConfigurationError(
            "a previous or next JWT public key is not a PEM public key"
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise KeyConfigurationError(
            "previous and next JWT public keys must be RSA, EC P-256 or Ed25519"
        )
    return key


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_der(key: PrivateKey) -> bytes:
    """The key's PKCS#8 DER bytes: stable input for keys derived from it."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def default_algorithm_for(key: PublicKey, current_algorithm: str) -> str:
    """The algorithm a previous or next key verifies when its entry does not say."""
    if isinstance(key, rsa.RSAPublicKey):
        return current_algorithm if current_algorithm in ("RS256", "PS256") else "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256"
    return "EdDSA"
