"""Outbox relay: moves committed first-login events from MongoDB to RabbitMQ.

Runs in every worker. Workers share the outbox through leases: a worker claims one
event at a time with ``find_one_and_update`` (owner + expiry), publishes it, and marks
it sent only after the broker's confirm. A worker that dies leaves a lease that
expires, and another worker re-claims the event: delivery is at least once, and
consumers deduplicate on ``message_id`` (= ``event_id``).
"""

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from login_service.backoff import backoff_seconds
from login_service.clock import utc_now_ms
from login_service.db import Document
from login_service.metrics import OutboxBacklog, ServiceMetrics
from login_service.outbox.publisher import EventPublisher, OutgoingMessage
from login_service.tracing import stored_trace_context

log = structlog.get_logger("login_service.outbox")
tracer = trace.get_tracer("login_service.outbox")


class OutboxRelay:
    """Publishes pending outbox events; woken by ``wake()`` and polling otherwise."""

    def __init__(
        self,
        outbox: AsyncCollection[Document],
        publisher: EventPublisher,
        *,
        metrics: ServiceMetrics,
        poll_interval: float = 1.0,
        lease_seconds: float = 30.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self.owner = uuid.uuid4().hex
        self._outbox = outbox
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._lease = timedelta(seconds=lease_seconds)
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._metrics = metrics
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask for an immediate pass (called in-process right after a first login)."""
        self._wakeup.set()

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let an in-flight publish finish (bounded by ``grace_seconds``), then stop."""
        self._stopping = True
        self._wakeup.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, grace_seconds)
            except TimeoutError:
                pass
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise

    async def backlog(self) -> OutboxBacklog:
        """Events not yet confirmed by the broker, and how long the oldest has waited."""
        pending = {"status": "pending"}
        count = await self._outbox.count_documents(pending)
        oldest = await self._outbox.find_one(
            pending, projection={"created_at": True}, sort=[("created_at", ASCENDING)]
        )
        if oldest is None:
            return OutboxBacklog(pending=count, oldest_age_seconds=0.0)
        created_at: datetime = oldest["created_at"]
        age = (self._clock() - created_at).total_seconds()
        return OutboxBacklog(pending=count, oldest_age_seconds=max(0.0, age))

    async def relay_pending(self) -> tuple[int, float | None]:
        """Publish every due event. Returns (published count, retry delay after a failure)."""
        published = 0
        while not self._stopping:
            event = await self._claim()
            if event is None:
                return published, None
            delay = await self._relay(event)
            if delay is not None:
                return published, delay
            published += 1
        return published, None

    async def _relay(self, event: Document) -> float | None:
        """Publish one claimed event; the retry delay if the broker failed it.

        The span continues the trace of the login that recorded the event (its stored
        ``traceparent``), or starts one for an event stored without it; the broker
        instrumentation's publish span, a child of it, goes in the message's headers."""
        with tracer.start_as_current_span(
            "outbox publish",
            context=stored_trace_context(event.get("trace_context")),
            attributes={"messaging.message.id": event["_id"]},
        ) as span:
            try:
                await self._publisher.publish(_message(event))
            except Exception as exc:  # noqa: BLE001 - any broker failure means: retry later
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                return await self._release_after_failure(event, exc)
            await self._mark_sent(event)
            return None

    async def _claim(self) -> Document | None:
        now = self._clock()
        return await self._outbox.find_one_and_update(
            {
                "status": "pending",
                "next_attempt_at": {"$lte": now},
                "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
            },
            {
                "$set": {"lease_owner": self.owner, "lease_until": now + self._lease},
                "$inc": {"attempts": 1},
            },
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def _mark_sent(self, event: Document) -> None:
        await self._outbox.update_one(
            {"_id": event["_id"], "status": "pending"},
            {
                "$set": {"status": "sent", "sent_at": self._clock()},
                "$unset": {"lease_owner": "", "lease_until": ""},
            },
        )
        self._metrics.outbox_published.inc()
        log.info("outbox_event_published", event_id=event["_id"], attempts=event.get("attempts"))

    async def _release_after_failure(self, event: Document, exc: Exception) -> float:
        delay = backoff_seconds(
            int(event.get("attempts", 1)), initial=self._backoff_initial, maximum=self._backoff_max
        )
        await self._outbox.update_one(
            {"_id": event["_id"], "lease_owner": self.owner},
            {
                "$set": {
                    "next_attempt_at": self._clock() + timedelta(seconds=delay),
                    "last_error": type(exc).__name__,
                },
                "$unset": {"lease_owner": "", "lease_until": ""},
            },
        )
        self._metrics.outbox_failures.inc()
        log.warning(
            "outbox_publish_failed",
            event_id=event["_id"],
            error=type(exc).__name__,
            retry_in_seconds=delay,
        )
        return delay

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            delay: float | None = None
            try:
                _, delay = await self.relay_pending()
            except Exception as exc:  # noqa: BLE001 - e.g. MongoDB unreachable; keep the loop alive
                log.warning("outbox_relay_error", error=type(exc).__name__)
                delay = self._backoff_initial
            if delay is not None:
                # The broker failed: wait out the backoff, ignoring wake-ups meanwhile.
                await self._sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def _sleep(self, seconds: float) -> None:
        self._wakeup.clear()
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stopping:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                # Only stop() sets the event while stopping; other wake-ups are cleared.
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            self._wakeup.clear()


def _message(event: Document) -> OutgoingMessage:
    return OutgoingMessage(
        body=json.dumps(event["body"], separators=(",", ":")).encode(),
        routing_key=event["routing_key"],
        message_id=event["_id"],
        correlation_id=event.get("correlation_id"),
        type=event["type"],
        version=int(event["version"]),
    )
