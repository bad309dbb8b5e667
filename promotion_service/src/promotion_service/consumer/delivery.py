"""A delivery's fate: everything the consumer does to a message in hand besides deciding on it.

- Counting: a delivery is counted in MongoDB (``attempts.py``) before it is claimed, so a
  message that crashed or killed the process on earlier deliveries is known, whatever the
  queue type. Hand-backs for the database do not count.
- Settling: acknowledge (then the counter is removed), dead-letter (reject without requeue,
  so RabbitMQ dead-letters it), retry later (a growing, jittered pause, then a requeue), wait
  for the database (the same pause, recorded as a hand-back, then handed back uncounted), or
  requeue now (delivered while the consumer stops).
- Handing back uncounted: a classic queue takes a nack with requeue. A quorum queue counts
  every nack-with-requeue against its ``x-delivery-limit``, so there the message goes back as
  a fresh copy published to the work queue (publisher confirms), and the delivery is then
  acknowledged; if the copy cannot be published, a nack is the fallback.
- Logs carry a failure's type and place only (``failures.describe``): exception messages may
  quote stored values.
"""

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from promotion_service.backoff import jittered_backoff_seconds
from promotion_service.config import Settings
from promotion_service.consumer.attempts import DeliveryAttempts, attempt_key
from promotion_service.consumer.metrics import ConsumerMetrics

log = structlog.get_logger("promotion_service.consumer")

MAX_LOGGED_ID_LENGTH = 128
PUBLISH_TIMEOUT_SECONDS = 10.0


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
        # Bound once per run, with the logging configuration in force: loggers are not
        # cached (logs.py), so binding the module's proxy builds one from the configuration,
        # which the fast path must not do per message (docs/decisions.md, section 16).
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
        self._counter_key: str | None = None  # set once counted: the fast path never needs it
        # message_id is the event id by contract; the decoded event_id replaces it.
        self._fields: dict[str, object] = {
            "event_id": _logged_id(message.message_id),
            "correlation_id": _logged_id(message.correlation_id),
        }

    @property
    def logger(self) -> Any:
        """The consumer's log with this delivery's fields as they stand: bound where a line
        is written, so a delivery settled without trouble binds once, for its one line."""
        return self._shared.log.bind(**self._fields)

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def sender(self) -> str | None:
        """The broker-validated AMQP ``user_id`` the message was published with."""
        return self._message.user_id

    def bind(self, **fields: object) -> None:
        self._fields.update(fields)

    async def count(self) -> int:
        """Count this delivery in MongoDB; its attempt number (hand-backs excluded)."""
        key = attempt_key(self._message.message_id, self._message.body)
        counted = await self._shared.attempts.count(key)
        self._counter_key = key
        self.attempt, self._handed_back = counted.attempt, counted.handed_back
        self.bind(attempt=self.attempt)
        return self.attempt

    async def ack(self) -> bool:
        """Acknowledge; the message is settled for good."""
        if not await self._settle(self._message.ack()):
            return False
        await self._forget()
        return True

    async def dead_letter(self, kind: str, reason: str) -> None:
        """Reject without requeue: RabbitMQ moves the message to the dead-letter queue."""
        if await self._settle(self._message.reject(requeue=False)):
            await self._forget()
            self._shared.metrics.dead_lettered.labels(reason=kind).inc()
            self.logger.warning(
                "event_dead_lettered", outcome="dead_lettered", kind=kind, reason=reason
            )

    async def retry_later(self, reason: str) -> None:
        """Not the database's fault: keep the message for a growing pause, then requeue it
        (the next delivery counts as the next attempt)."""
        await self._announce_retry(max(self.attempt, 1), reason, cause="error")
        await self._settle(self._message.nack(requeue=True))

    async def wait_for_database(self, reason: str) -> None:
        """The database is unavailable or contended: keep the message for a growing pause,
        then hand it back uncounted, as often as it takes.

        The hand-back is recorded before the pause: a delivery that comes back meanwhile
        (a dropped connection returns what it held) must not find this one counted."""
        if self._counter_key is not None:
            self.bind(handed_back=self._handed_back)
            await self._record_hand_back(self._counter_key)
        await self._announce_retry(self._handed_back + 1, reason, cause="database_unavailable")
        await self._hand_back()

    async def requeue_now(self) -> None:
        """Hand the message straight back (delivered while the consumer stops)."""
        await self._settle(self._message.nack(requeue=True))

    async def _settle(self, settling: Awaitable[None]) -> bool:
        """Await an ack/nack/reject; a lost channel means the broker redelivers, which is safe."""
        try:
            await settling
        except Exception as exc:
            self.logger.warning("settle_failed", error=type(exc).__name__)
            return False
        return True

    async def _announce_retry(self, step: int, reason: str, *, cause: str) -> None:
        delay = self._shared.backoff(step)
        self.logger.warning(
            "event_failed", outcome="retry", cause=cause, reason=reason, retry_in_s=round(delay, 3)
        )
        self._shared.metrics.message_retries.inc()
        await self._shared.pause(delay)

    async def _record_hand_back(self, key: str) -> None:
        """Tell the counter this delivery was ours to hand back, not a crash.

        Retried while the message is held: left unrecorded, each delivery of a flapping
        database would count as an attempt and a valid event could end dead-lettered. Given
        up only when stopping (the redelivery then counts once)."""
        for step in itertools.count(1):
            try:
                await self._shared.attempts.hand_back(key)
                return
            except Exception as exc:
                self.logger.warning("attempt_not_uncounted", error=type(exc).__name__, step=step)
            if self._shared.stopping.is_set():
                return
            await self._shared.pause(self._shared.backoff(step))

    async def _hand_back(self) -> None:
        """Requeue uncounted: a confirmed fresh copy to the work queue (quorum queues), then
        an ack; else (or if the copy fails) a nack with requeue."""
        if not _channel_open(self._message):
            return  # the broker has taken it back already, with the channel
        exchange = self._shared.requeue_exchange
        if exchange is not None and await self._publish_copy(exchange):
            await self._settle(self._message.ack())
            return
        await self._settle(self._message.nack(requeue=True))

    async def _publish_copy(self, exchange: AbstractExchange) -> bool:
        settings = self._shared.settings
        try:
            confirmed = await exchange.publish(
                fresh_copy(self._message, settings.broker_user),
                routing_key=settings.queue_name,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            self.logger.warning("requeue_copy_failed", error=type(exc).__name__, fallback="nack")
            return False
        if not isinstance(confirmed, aiormq.spec.Basic.Ack):  # returned: no queue took it
            self.logger.warning("requeue_copy_failed", error="not_routed", fallback="nack")
            return False
        return True

    async def _forget(self) -> None:
        if self._counter_key is None:
            return  # never counted (the fast path, a malformed message): nothing to remove
        try:
            await self._shared.attempts.forget(self._counter_key)
        except Exception as exc:  # the TTL index removes it later
            self.logger.warning("attempt_counter_not_removed", error=type(exc).__name__)


def fresh_copy(message: AbstractIncomingMessage, user_id: str) -> aio_pika.Message:
    """The message as its producer sent it, for publishing again: without the broker's
    delivery count, and sent as `user_id` (this consumer's broker user: the broker checks
    it against the publisher, and the consumer trusts its own hand-back copies)."""
    headers = {k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"}
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
        user_id=user_id,
    )


def _channel_open(message: AbstractIncomingMessage) -> bool:
    """Whether the channel that delivered `message` is still open (it cannot be settled,
    nor copied usefully, on another: the broker requeues what a closed channel held)."""
    try:
        return not message.channel.is_closed
    except Exception:  # aio-pika raises when the channel is gone
        return False


def _logged_id(value: str | None) -> str | None:
    return (value or "")[:MAX_LOGGED_ID_LENGTH] or None
