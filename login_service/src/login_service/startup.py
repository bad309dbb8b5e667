"""The API's start: its database prepared, tried until MongoDB answers, with a growing delay,
or until the process is asked to stop."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from login_service.backoff import jittered_backoff_seconds

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
            delay = jittered_backoff_seconds(
                attempt, initial=FIRST_DELAY_SECONDS, maximum=MAX_DELAY_SECONDS
            )
            log.warning(
                "dependency_not_ready",
                dependency=dependency,
                error=type(exc).__name__,
                code=getattr(exc, "code", None),  # a server's error code; never its message
                retry_in_s=round(delay, 3),
            )
        else:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    return False


def watch_start(app: Any, start: "asyncio.Task[Any]") -> None:
    """A start that fails past its retries (a bug, a broken configuration) is logged, and the
    instance reports itself failed (`/livez` 503) so that its orchestrator restarts it, instead
    of staying "starting" with nothing said."""

    def done(task: "asyncio.Task[Any]") -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        app.state.start_failed = type(error).__name__
        log.error("start_failed", error=type(error).__name__)

    start.add_done_callback(done)
