"""The API's start: its database prepared, tried until MongoDB answers, with a growing delay,
or until the process is asked to stop."""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("login_service.startup")

FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 15.0


async def until_ready(
    dependency: str, start: Callable[[], Awaitable[None]], stop: asyncio.Event
) -> bool:
    """True once `start()` succeeded; False if `stop` was set first."""
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            await start()
        except Exception as exc:  # noqa: BLE001 - any failure: not ready yet, try again
            ceiling = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (attempt - 1))
            delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
            log.warning(
                "dependency_not_ready",
                dependency=dependency,
                error=type(exc).__name__,
                retry_in_s=round(delay, 3),
            )
        else:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    return False
