"""Budgets counted in fixed time windows, shared by every worker and replica through MongoDB.

A window is one document per (scope, key, window start): ``{_id, count, expires_at}``.
Its TTL index on ``expires_at`` removes it once the window is over, and a new window
starts from zero, so a refusal always ends with its window. Windows are written only
to count something (a failed login, a registration), never to read a budget, so the
collection grows with failures, not with requests.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from login_service.clock import utc_now_ms
from login_service.db import Document
from login_service.errors import Throttled

_DUPLICATE_KEY = 11000


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """At most ``max_count`` counted events per ``window_seconds`` for one key of a scope."""

    scope: str
    max_count: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Window:
    document_id: str
    ends_at: float


def current_window(rule: ThrottleRule, key: str, now: float) -> Window:
    """The fixed window containing ``now`` (seconds since the epoch).

    Windows start at multiples of their length, whatever the key, so two keys of one
    rule always share the same end: a refusal's ``Retry-After`` says nothing about the key.
    """
    start = math.floor(now / rule.window_seconds) * rule.window_seconds
    return Window(f"{rule.scope}:{start}:{key}", start + rule.window_seconds)


def retry_after_seconds(window: Window, now: float) -> int:
    return max(1, math.ceil(window.ends_at - now))


class WindowStore:
    """Reads and counts windows in one collection (one round trip per call)."""

    def __init__(
        self,
        windows: AsyncCollection[Document],
        *,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._windows = windows
        self._clock = clock

    def now(self) -> float:
        return self._clock().timestamp()

    async def counts(self, windows: Iterable[Window]) -> dict[str, int]:
        """The counts of ``windows`` (absent ones are 0), read with one ``find``."""
        ids = [window.document_id for window in windows]
        found = await self._windows.find({"_id": {"$in": ids}}, {"count": 1}).to_list()
        return {doc["_id"]: int(doc.get("count", 0)) for doc in found}

    async def add_one(self, windows: list[Window]) -> None:
        """Count one event in each window: one ``update`` command of upserts."""
        if not windows:
            return
        operations = [
            UpdateOne(
                {"_id": window.document_id},
                {
                    "$inc": {"count": 1},
                    "$setOnInsert": {"expires_at": datetime.fromtimestamp(window.ends_at, UTC)},
                },
                upsert=True,
            )
            for window in windows
        ]
        try:
            await self._windows.bulk_write(operations, ordered=False)
        except BulkWriteError as exc:
            # Two upserts raced to create a window: the document exists now, count again
            # only those that lost the race.
            lost = {error["index"] for error in exc.details.get("writeErrors", [])}
            if any(error.get("code") != _DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            await self._windows.bulk_write([operations[i] for i in sorted(lost)], ordered=False)

    async def reserve(
        self, rule: ThrottleRule, key: str, refusal: Callable[[int], Throttled]
    ) -> None:
        """Count one event first and refuse it past the limit (given back when refused).

        For budgets of attempts rather than failures (registrations): concurrent
        requests get distinct counts, so none can outrun the limit.
        """
        now = self.now()
        window = current_window(rule, key, now)
        update = {
            "$inc": {"count": 1},
            "$setOnInsert": {"expires_at": datetime.fromtimestamp(window.ends_at, UTC)},
        }
        try:
            document = await self._find_and_increment(window.document_id, update)
        except DuplicateKeyError:
            document = await self._find_and_increment(window.document_id, update)
        if int(document["count"]) > rule.max_count:
            await self._windows.update_one(
                {"_id": window.document_id, "count": {"$gt": 0}}, {"$inc": {"count": -1}}
            )
            raise refusal(retry_after_seconds(window, now))

    async def _find_and_increment(self, document_id: str, update: Document) -> Document:
        document = await self._windows.find_one_and_update(
            {"_id": document_id}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert document is not None  # an upsert returning AFTER always has the document
        return document
