"""Verify the login service's access tokens: key by kid, algorithm pinned by the key.

A client sends the same token with every request for its 30 minutes. A token string that
verified once against a key verifies again against that same key until it expires (issuer,
audience and algorithm are fixed), so later requests only check that the JWKS still
publishes that very key object (``key_for`` keeps the refetch rate limit and the key-age
cap: a key the login service withdrew, or keys past their trust cap, end the shortcut) and
compare ``exp`` with the clock; the base64, JSON and RSA work is skipped.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from jwt import PyJWK

from promotion_service.auth.jwks import ALLOWED_ALGORITHMS, JwksClient
from promotion_service.errors import InvalidToken

REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub", "jti")
MAX_ACCOUNT_ID_LENGTH = 64
# The login service's tokens are about 1 KB; anything far longer is refused before it is
# decoded or parsed (a header nested thousands deep would exhaust the JSON parser).
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject (account id)."""

    account_id: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed every check, with the key object that verified it."""

    kid: str
    key: PyJWK
    principal: Principal
    expires_at: float


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience and lifetime of a bearer token."""

    def __init__(
        self,
        jwks: JwksClient,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int,
        max_remembered: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._max_remembered = max_remembered
        self._clock = clock
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The caller, or InvalidToken; JwksUnavailable when keys cannot be fetched."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("token too long")
        remembered = self._verified.get(token)
        if remembered is not None:
            # Asked every time: a withdrawn key or untrusted key set ends the shortcut.
            key = await self._jwks.key_for(remembered.kid)
            if key is remembered.key:
                if self._clock() >= remembered.expires_at + self._leeway:
                    # Another request may have dropped it while this one awaited the key.
                    self._verified.pop(token, None)
                    raise InvalidToken("token expired")
                return remembered.principal
            self._verified.pop(token, None)
        return await self._verify_in_full(token)

    async def _verify_in_full(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, RecursionError):
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
        principal = Principal(
            account_id=subject,
            token_id=token_id,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
        self._remember(token, _Verified(kid, key, principal, float(claims["exp"])))
        return principal

    def _remember(self, token: str, verified: _Verified) -> None:
        self._verified[token] = verified
        if len(self._verified) > self._max_remembered:
            self._verified.popitem(last=False)  # the oldest entry: insertion order
