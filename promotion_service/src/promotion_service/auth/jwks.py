"""A small cached JWKS fetcher (httpx, async).

- Keys are cached for `ttl` seconds; an expired cache is refreshed on the next use.
- A token whose kid is unknown triggers a refresh, at most once per `min_refetch_interval`,
  so a flood of made-up kids cannot turn into a flood of requests to the login service.
- If a refresh fails while older keys are cached, those keep serving (logged), but only up
  to `max_key_age` after they were fetched: a key the login service has withdrawn (rotated
  out after a leak) must not stay trusted for as long as the login service is unreachable.
  Past that cap, or with no keys at all, the caller gets JwksUnavailable (the API answers
  503 with Retry-After).
- Readiness (`check`) takes the same path as a token, so probes cannot bypass the refetch
  rate limit either.
- Each successful fetch is reported to `on_fetched` (the API's key-age gauge).
- Only keys that state an allowed `alg` (and suit it) are kept; each key verifies only with
  the algorithm it states.
"""

import asyncio
import time
from collections.abc import Callable, Collection
from typing import Any

import httpx
import structlog
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from promotion_service.errors import JwksUnavailable

ALLOWED_ALGORITHMS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})

log = structlog.get_logger(__name__)


def parse_jwks(document: Any, allowed: Collection[str] = ALLOWED_ALGORITHMS) -> dict[str, PyJWK]:
    """kid -> key for every usable signing key of a JWKS document; others are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        kid, alg = entry.get("kid"), entry.get("alg")
        if not isinstance(kid, str) or not kid or alg not in allowed:
            continue
        if entry.get("use", "sig") != "sig" or "d" in entry:
            continue  # encryption keys, or private material that should never be published
        try:
            keys[kid] = PyJWK(entry)
        except (PyJWTError, ValueError, KeyError, TypeError):
            log.warning("jwks_key_skipped", kid=kid[:64], alg=alg)
    return keys


class JwksClient:
    """Fetches and caches the JWKS of one URL."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl_seconds: float,
        min_refetch_interval_seconds: float,
        max_key_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_fetched: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._http = http
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_interval_seconds
        self._max_key_age = max(max_key_age_seconds, ttl_seconds)
        self._clock = clock
        self._on_fetched = on_fetched
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PyJWK | None:
        """The key with this kid, or None if the login service does not publish it."""
        keys = await self._fresh_keys()
        if kid in keys:
            return keys[kid]
        if self._clock() - self._attempted_at < self._min_refetch:
            return None
        keys = await self._refresh(if_attempted_before=self._clock())
        return keys.get(kid)

    async def check(self) -> None:
        """Raise JwksUnavailable unless keys can be trusted now (fetched, or cached and still
        within the key-age cap); a refetch it needs obeys the same rate limit as tokens."""
        await self._fresh_keys()

    async def _fresh_keys(self) -> dict[str, PyJWK]:
        if self._keys is not None and self._clock() - self._fetched_at < self._ttl:
            return self._keys
        return await self._refresh(if_attempted_before=self._clock() - self._min_refetch)

    async def _refresh(self, *, if_attempted_before: float) -> dict[str, PyJWK]:
        async with self._lock:
            # Another request fetched (or failed to) while this one waited for the lock.
            if self._attempted_at >= if_attempted_before:
                return self._cached_keys()
            try:
                return await self._fetch()
            except JwksUnavailable:
                keys = self._cached_keys()
                log.warning("jwks_refresh_failed_serving_cached_keys", url=self._url)
                return keys

    def _cached_keys(self) -> dict[str, PyJWK]:
        """The cached keys while they may still be trusted; else JwksUnavailable."""
        if self._keys is None:
            raise JwksUnavailable("JWKS fetch failed recently")
        if self._clock() - self._fetched_at >= self._max_key_age:
            log.warning("jwks_cached_keys_too_old", url=self._url)
            raise JwksUnavailable("cached JWKS keys are past their maximum age")
        return self._keys

    async def _fetch(self) -> dict[str, PyJWK]:
        self._attempted_at = self._clock()
        try:
            response = await self._http.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks_fetch_failed", url=self._url, error=type(exc).__name__)
            raise JwksUnavailable(f"JWKS fetch failed: {type(exc).__name__}") from None
        self._keys = keys
        self._fetched_at = self._clock()
        if self._on_fetched is not None:
            self._on_fetched()
        log.info("jwks_fetched", url=self._url, kids=sorted(keys))
        return keys
