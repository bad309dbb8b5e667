"""A process's start (the API's and the consumer's): each dependency (MongoDB, the broker,
its topology) is tried until it answers, with a growing delay, or until the process is asked
to stop."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from promotion_service.backoff import jittered_backoff_seconds

log = structlog.get_logger("promotion_service.startup")


async def until_ready[T](
    dependency: str,
    start: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    *,
    explain: bool = False,
) -> T | None:
    """`start()`'s result once it succeeds, retried with a growing delay; None if stopped.

    `explain` adds the error's text to the log line: only for errors whose text is the
    broker's reply (never a connection error, whose text could carry the URL).
    """
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            return await start()
        except Exception as exc:
            delay = jittered_backoff_seconds(attempt, initial=0.5, maximum=15.0)
            reason = {"reason": str(exc)[:300]} if explain else {}
            log.warning(
                "dependency_not_ready",
                dependency=dependency,
                error=type(exc).__name__,
                code=getattr(exc, "code", None),  # a server's error code; never its message
                retry_in_s=round(delay, 3),
                **reason,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    return None


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
