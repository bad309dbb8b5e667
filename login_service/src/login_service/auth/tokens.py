"""Access tokens: pure issue and verify functions over a ``KeySet``."""

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt

from login_service.auth.keys import KeySet
from login_service.errors import InvalidToken

REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti")
TOKEN_TYPE = "JWT"  # noqa: S105 - a header value, not a secret
# Tokens this service issues are about 1 KB (an RS256 signature of a 3072-bit key is 512
# characters); anything far longer is refused before it is decoded or parsed.
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str = field(repr=False)
    expires_in: int
    jti: str


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """What a token says about its issuer and audience, and how long it lives."""

    issuer: str
    audience: str
    ttl_seconds: int = 1800
    leeway_seconds: int = 10


def issue_access_token(
    keys: KeySet, policy: TokenPolicy, subject: str, now: datetime
) -> IssuedToken:
    """Sign a token for ``subject`` with the current key; ``exp`` = ``iat`` + ttl."""
    issued_at = int(now.timestamp())
    jti = uuid.uuid4().hex
    claims = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": subject,
        "iat": issued_at,
        "exp": issued_at + policy.ttl_seconds,
        "jti": jti,
    }
    token = jwt.encode(
        claims,
        keys.private_key,
        algorithm=keys.signing.algorithm,
        headers={"kid": keys.signing.kid, "typ": TOKEN_TYPE},
    )
    return IssuedToken(access_token=token, expires_in=policy.ttl_seconds, jti=jti)


@dataclass(frozen=True, slots=True)
class SessionIssuer:
    """Signs access tokens with the current key under one policy."""

    keys: KeySet
    policy: TokenPolicy

    def issue(self, subject: str, now: datetime) -> IssuedToken:
        return issue_access_token(self.keys, self.policy, subject, now)


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header alone: the key choice needs only it, so the payload and signature
    are decoded once, by the verification itself."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("token too long")
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidToken("malformed token") from exc
    # This service never issues critical extensions (RFC 7515 section 4.1.11).
    if not isinstance(header, dict) or "crit" in header:
        raise InvalidToken("malformed token")
    return header


def verify_access_token(keys: KeySet, policy: TokenPolicy, token: str) -> dict[str, Any]:
    """Return the claims of a valid token or raise ``InvalidToken``.

    The key is chosen by ``kid`` and only the algorithm that key states is accepted,
    so ``none``, HMAC and algorithm confusion fail before any signature check. The
    header must say ``typ: JWT``, as this service issues; PyJWT refuses ``crit``
    extensions it does not understand (RFC 7515 section 4.1.11).
    """
    header = _unverified_header(token)
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != TOKEN_TYPE:
        raise InvalidToken("unexpected typ")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("missing kid")
    key = keys.find(kid)
    if key is None:
        raise InvalidToken("unknown kid")
    if header.get("alg") != key.algorithm:
        raise InvalidToken("algorithm does not match the key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            audience=policy.audience,
            issuer=policy.issuer,
            leeway=policy.leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("invalid sub")
    return claims
