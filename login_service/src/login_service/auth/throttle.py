"""Login throttling shared by all workers: attempts counted in fixed windows in MongoDB.

Every login attempt first *reserves* a slot in each of its windows with one atomic
``$inc`` upsert that returns the new count, before any password is verified. So N
concurrent attempts get N distinct counts, and only those within the limit go on to
an Argon2 verification: concurrency buys an attacker no extra guesses. Refused and
successful attempts give their reservations back, so a count is the failures of the
window plus the attempts in flight.

A window is one document per (scope, key, window start). Its TTL index on
``expires_at`` removes it once the window is over, and a new window starts from
zero, so a lock-out always ends with its window.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from login_service.clock import utc_now_ms
from login_service.db import Document
from login_service.errors import LoginThrottled, Throttled


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """At most ``max_failures`` failed logins per ``window_seconds`` for one key of a scope."""

    scope: str
    max_failures: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Window:
    document_id: str
    ends_at: float


def current_window(rule: ThrottleRule, key: str, now: float) -> Window:
    """The fixed window containing ``now`` (seconds since the epoch)."""
    start = math.floor(now / rule.window_seconds) * rule.window_seconds
    return Window(f"{rule.scope}:{start}:{key}", start + rule.window_seconds)


def retry_after_seconds(window: Window, now: float) -> int:
    return max(1, math.ceil(window.ends_at - now))


@dataclass(frozen=True, slots=True)
class Reservation:
    """The window documents one attempt was counted in (given back after a success)."""

    window_ids: tuple[str, ...]


class LoginThrottle:
    """Reserves and releases login attempts for several (rule, key) pairs at once."""

    def __init__(
        self,
        attempts: AsyncCollection[Document],
        *,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._attempts = attempts
        self._clock = clock

    async def reserve(
        self,
        subjects: list[tuple[ThrottleRule, str]],
        refusal: Callable[[int], Throttled] = LoginThrottled,
    ) -> Reservation:
        """Count one attempt against every subject; raise ``refusal`` past a limit.

        The count is taken before the password is checked. A refused attempt gives it
        back at once; the caller gives it back after a success, and keeps it (a failure)
        otherwise. The window end decides when a lock-out lifts.
        """
        now = self._clock().timestamp()
        windows = [(rule, current_window(rule, key, now)) for rule, key in subjects]
        blocked: list[int] = []
        for rule, window in windows:
            count = await self._increment(window)
            if count > rule.max_failures:
                blocked.append(retry_after_seconds(window, now))
        reservation = Reservation(tuple(window.document_id for _, window in windows))
        if blocked:
            await self.release(reservation)
            raise refusal(max(blocked))
        return reservation

    async def release(self, reservation: Reservation) -> None:
        """Give back an attempt that was not a failure (never creates a window)."""
        await self._attempts.update_many(
            {"_id": {"$in": list(reservation.window_ids)}, "count": {"$gt": 0}},
            {"$inc": {"count": -1}},
        )

    async def _increment(self, window: Window) -> int:
        update = {
            "$inc": {"count": 1},
            "$setOnInsert": {"expires_at": datetime.fromtimestamp(window.ends_at, UTC)},
        }
        try:
            document = await self._find_and_increment(window.document_id, update)
        except DuplicateKeyError:
            # Two upserts raced to create the window; the document exists now.
            document = await self._find_and_increment(window.document_id, update)
        return int(document["count"])

    async def _find_and_increment(self, document_id: str, update: Document) -> Document:
        document = await self._attempts.find_one_and_update(
            {"_id": document_id}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert document is not None  # an upsert returning AFTER always has the document
        return document
