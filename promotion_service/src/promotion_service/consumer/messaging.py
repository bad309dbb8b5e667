"""Delivery bookkeeping: everything the consumer does to a message besides deciding on it.

- Attempts: a delivery is counted in MongoDB (``attempts.py``) before it is claimed, so a
  message that crashed or killed the process on earlier deliveries is known, whatever the
  queue type. Hand-backs for the database do not count.
- Settling: ack (then the counter is removed), dead-letter (reject without requeue, so
  RabbitMQ dead-letters it), retry later (a growing, jittered pause, then a requeue), or
  wait for the database (the same pause, recorded as a hand-back, then ``hand_back.py``).
- Logs carry the failure's type and place only (``raised_at``): exception messages may
  quote stored values.
"""

import asyncio
import contextlib
import itertools
from functools import cached_property
from typing import Any

import structlog
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from promotion_service.backoff import jittered_backoff_seconds
from promotion_service.config import Settings
from promotion_service.consumer.attempts import DeliveryAttempts, attempt_key
from promotion_service.consumer.hand_back import hand_back, settle
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.raised_at import raised_at

log = structlog.get_logger("promotion_service.consumer")

MAX_LOGGED_ID_LENGTH = 128


def describe(failure: BaseException) -> str:
    """What a log may say about a failure: its type and where it was raised."""
    return f"{type(failure).__name__} at {raised_at(failure)}"


def _logged_id(value: str | None) -> str | None:
    return (value or "")[:MAX_LOGGED_ID_LENGTH] or None


class Deliveries:
    """What every delivery shares: the attempt counter, the hand-back route, the pauses."""

    def __init__(
        self,
        *,
        settings: Settings,
        attempts: DeliveryAttempts,
        metrics: ConsumerMetrics,
        stopping: asyncio.Event,
        requeue_exchange: AbstractExchange | None = None,
    ) -> None:
        """`requeue_exchange` (quorum queues: the consuming channel's default exchange):
        where a message waiting for the database goes back as a fresh copy."""
        self.settings = settings
        self.attempts = attempts
        self.metrics = metrics
        self.stopping = stopping
        self.requeue_exchange = requeue_exchange
        # Bound once, with the logging configuration in force: not once per message.
        self.log: Any = log.bind()

    def of(self, message: AbstractIncomingMessage) -> "Delivery":
        return Delivery(self, message)

    def backoff(self, step: int) -> float:
        """The growing, jittered wait after failed step `step` (1 = the first)."""
        return jittered_backoff_seconds(
            step,
            initial=self.settings.retry_base_delay_seconds,
            maximum=self.settings.retry_max_delay_seconds,
        )

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the consumer is asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)


class Delivery:
    """One message in hand, until it is settled."""

    def __init__(self, deliveries: Deliveries, message: AbstractIncomingMessage) -> None:
        self._shared = deliveries
        self._message = message
        self.attempt = 0  # 0 = not counted (yet)
        self._handed_back = 0
        # message_id is the event id by contract; the decoded event_id replaces it.
        self._fields: dict[str, object] = {
            "event_id": _logged_id(message.message_id),
            "correlation_id": _logged_id(message.correlation_id),
        }
        self._logger: Any = None

    @property
    def logger(self) -> Any:
        """The consumer's log with this delivery's fields, bound once they are all known."""
        if self._logger is None:
            self._logger = self._shared.log.bind(**self._fields)
        return self._logger

    @cached_property
    def _key(self) -> str:
        """The delivery-attempt counter's key (the fast path never needs it)."""
        return attempt_key(self._message.message_id, self._message.body)

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def sender(self) -> str | None:
        """The broker-validated AMQP ``user_id`` the message was published with."""
        return self._message.user_id

    def bind(self, **fields: object) -> None:
        self._fields.update(fields)
        self._logger = None

    async def count(self) -> int:
        """Count this delivery in MongoDB; its attempt number (hand-backs excluded)."""
        counted = await self._shared.attempts.count(self._key)
        self.attempt, self._handed_back = counted.attempt, counted.handed_back
        self.bind(attempt=self.attempt)
        return self.attempt

    async def ack(self) -> bool:
        """Acknowledge; the message is settled for good."""
        if not await settle(self._message.ack(), self.logger):
            return False
        await self._forget()
        return True

    async def dead_letter(self, kind: str, reason: str) -> None:
        """Reject without requeue: RabbitMQ moves the message to the dead-letter queue."""
        if await settle(self._message.reject(requeue=False), self.logger):
            await self._forget()
            self._shared.metrics.dead_lettered.labels(reason=kind).inc()
            self.logger.warning(
                "event_dead_lettered", outcome="dead_lettered", kind=kind, reason=reason
            )

    async def retry_later(self, reason: str) -> None:
        """Not the database's fault: keep the message for a growing pause, then requeue it
        (the next delivery counts as the next attempt)."""
        await self._announce_retry(max(self.attempt, 1), reason, cause="error")
        await settle(self._message.nack(requeue=True), self.logger)

    async def wait_for_database(self, reason: str) -> None:
        """The database is unavailable or contended: keep the message for a growing pause,
        then hand it back, as often as it takes; this delivery does not count.

        The hand-back is recorded before the pause: a delivery that comes back meanwhile
        (a dropped connection returns what it held) must not find this one counted."""
        if self.attempt:
            self.bind(handed_back=self._handed_back)
            await self._record_hand_back()
        await self._announce_retry(self._handed_back + 1, reason, cause="database_unavailable")
        await hand_back(
            self._message,
            copy_to=self._shared.requeue_exchange,
            queue=self._shared.settings.queue_name,
            sender=self._shared.settings.broker_user,
            logger=self.logger,
        )

    async def requeue_now(self) -> None:
        """Hand the message straight back (delivered while the consumer stops)."""
        await settle(self._message.nack(requeue=True), self.logger)

    async def _announce_retry(self, step: int, reason: str, *, cause: str) -> None:
        delay = self._shared.backoff(step)
        self.logger.warning(
            "event_failed", outcome="retry", cause=cause, reason=reason, retry_in_s=round(delay, 3)
        )
        self._shared.metrics.message_retries.inc()
        await self._shared.pause(delay)

    async def _record_hand_back(self) -> None:
        """Tell the counter this delivery was ours to hand back, not a crash.

        Retried while the message is held: left unrecorded, each delivery of a flapping
        database would count as an attempt and a valid event could end dead-lettered. Given
        up only when stopping (the redelivery then counts once)."""
        for step in itertools.count(1):
            try:
                await self._shared.attempts.hand_back(self._key)
                return
            except Exception as exc:
                self.logger.warning("attempt_not_uncounted", error=type(exc).__name__, step=step)
            if self._shared.stopping.is_set():
                return
            await self._shared.pause(self._shared.backoff(step))

    async def _forget(self) -> None:
        if not self.attempt:
            return  # never counted (the fast path, a malformed message): nothing to remove
        try:
            await self._shared.attempts.forget(self._key)
        except Exception as exc:  # the TTL index removes it later
            self.logger.warning("attempt_counter_not_removed", error=type(exc).__name__)
