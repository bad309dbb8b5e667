"""Bearer token checks for each request, remembering the tokens already verified.

A client sends the same token with every request for its 30 minutes. A token string
that verified once under this process's key set verifies again until it expires (the key
set is fixed for the life of the process), so later requests skip the decoding and the
signature check and only compare ``exp`` with the clock.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from login_service.auth.keys import KeySet
from login_service.auth.tokens import TokenPolicy, verify_access_token
from login_service.errors import InvalidToken


class AccessTokenVerifier:
    """``verify(token)``: the claims of a valid access token, else ``InvalidToken``."""

    def __init__(
        self,
        keys: KeySet,
        policy: TokenPolicy,
        *,
        max_remembered: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._policy = policy
        self._max_remembered = max_remembered
        self._clock = clock
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def verify(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is None:
            claims = verify_access_token(self._keys, self._policy, token)
            self._remember(token, claims)
        elif self._clock() >= claims["exp"] + self._policy.leeway_seconds:
            del self._verified[token]
            raise InvalidToken("ExpiredSignatureError")
        return claims

    def _remember(self, token: str, claims: dict[str, Any]) -> None:
        self._verified[token] = claims
        if len(self._verified) > self._max_remembered:
            self._verified.popitem(last=False)  # the oldest entry: insertion order
