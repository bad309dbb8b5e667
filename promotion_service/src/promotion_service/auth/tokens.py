"""Verify the login service's access tokens: key by kid, algorithm pinned by the key."""

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from promotion_service.auth.jwks import ALLOWED_ALGORITHMS, JwksClient
from promotion_service.errors import InvalidToken

REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub", "jti")
MAX_ACCOUNT_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject (account id)."""

    account_id: str
    token_id: str
    expires_at: datetime


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience and lifetime of a bearer token."""

    def __init__(
        self, jwks: JwksClient, *, issuer: str, audience: str, leeway_seconds: int
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> Principal:
        """The caller, or InvalidToken; JwksUnavailable when keys cannot be fetched."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise InvalidToken("token algorithm not accepted")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token has no key id")
        key = await self._jwks.key_for(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        if key.algorithm_name != algorithm:
            raise InvalidToken("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[key.algorithm_name],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"token rejected: {type(exc).__name__}") from None
        subject, token_id = claims["sub"], claims["jti"]
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_ACCOUNT_ID_LENGTH:
            raise InvalidToken("token subject is not an account id")
        if not isinstance(token_id, str) or not token_id:
            raise InvalidToken("token id is not a string")
        return Principal(
            account_id=subject,
            token_id=token_id,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
