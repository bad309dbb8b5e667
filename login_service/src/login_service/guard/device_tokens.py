"""Device tokens (OWASP "Slow Down Online Guessing Attacks with Device Cookies").

A device token names the accounts a client registered or logged in to. It is an HS256
JWT under a key derived from the device-token secret (``derived_keys.py``), so every
worker and replica trusts it without a database read, and it can never pass for an
access token: another algorithm, another key, another ``typ`` and audience. Tokens are
issued under the current key and read under it or any upcoming or retired one.
The token's ``jti`` is the device's id, kept when the token is reissued, so the
device's failure budget follows the device, not one token.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from login_service.clock import utc_now_ms
from login_service.guard.derived_keys import DEVICE_TOKENS, derive_key

DEVICE_TOKEN_TYPE = "device+jwt"  # noqa: S105 - a header value, not a secret
DEVICE_AUDIENCE = "urn:bank:login:device"
_ALGORITHM = "HS256"
_MAX_TOKEN_CHARS = 4096


def derive_device_token_key(secret: bytes) -> bytes:
    """The 256-bit HMAC key of device tokens under one secret."""
    return derive_key(secret, DEVICE_TOKENS)


@dataclass(frozen=True, slots=True)
class DeviceToken:
    """A verified device token: the device's id and the accounts it may log in to as trusted."""

    device_id: str
    account_ids: tuple[str, ...]

    def names(self, account_id: str) -> bool:
        return account_id in self.account_ids


class DeviceTokens:
    """Issues and verifies device tokens (no I/O)."""

    def __init__(
        self,
        key: bytes,
        *,
        read_keys: tuple[bytes, ...] = (),
        issuer: str,
        ttl_seconds: int,
        max_accounts: int,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._key = key
        # Tokens are issued under ``key`` and read under it or any of ``read_keys`` (the
        # upcoming and retired secrets' keys of a rotation).
        self._keys = (key, *read_keys)
        self._issuer = issuer
        self._ttl_seconds = ttl_seconds
        self._max_accounts = max_accounts
        self._clock = clock

    @property
    def ttl_seconds(self) -> int:
        return self._ttl_seconds

    def issue(self, previous: DeviceToken | None, account_id: str) -> str:
        """A token naming ``account_id`` last, after the accounts ``previous`` named.

        The list keeps the ``max_accounts`` most recent accounts, so a browser shared by
        a few people stays trusted for each of them and the token stays small.
        """
        kept = [a for a in (previous.account_ids if previous else ()) if a != account_id]
        accounts = [*kept, account_id][-self._max_accounts :]
        issued_at = int(self._clock().timestamp())
        claims = {
            "iss": self._issuer,
            "aud": DEVICE_AUDIENCE,
            "jti": previous.device_id if previous else uuid.uuid4().hex,
            "acc": accounts,
            "iat": issued_at,
            "exp": issued_at + self._ttl_seconds,
        }
        return jwt.encode(
            claims, self._key, algorithm=_ALGORITHM, headers={"typ": DEVICE_TOKEN_TYPE}
        )

    def read(self, token: str | None) -> DeviceToken | None:
        """The device token if it is valid; anything else makes the client untrusted."""
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        claims = self._verified_claims(token)
        if claims is None:
            return None
        device_id, accounts = claims.get("jti"), claims.get("acc")
        if not isinstance(device_id, str) or not isinstance(accounts, list):
            return None
        names = tuple(a for a in accounts[: self._max_accounts] if isinstance(a, str))
        return DeviceToken(device_id=device_id[:64], account_ids=names)

    def _verified_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a device token (its ``typ``) under the first key whose signature
        matches; else ``None``. The token is parsed once per key tried."""
        for key in self._keys:
            try:
                verified = jwt.decode_complete(
                    token,
                    key,
                    algorithms=[_ALGORITHM],
                    audience=DEVICE_AUDIENCE,
                    issuer=self._issuer,
                    options={"require": ["iss", "aud", "jti", "iat", "exp"]},
                )
            except jwt.InvalidSignatureError:
                continue  # perhaps signed under a retired key
            except jwt.PyJWTError:
                return None
            if verified["header"].get("typ") != DEVICE_TOKEN_TYPE:
                return None
            claims: dict[str, Any] = verified["payload"]
            return claims
        return None
