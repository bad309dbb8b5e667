"""What happens to one delivery: count it, decode, claim, then ack, retry later, or dead-letter.

- Every delivery is counted in MongoDB before anything else (`attempts.py`), so a message
  that crashed or killed the process on earlier deliveries is known, whatever the queue
  type. A delivery beyond `max_attempts` is dead-lettered without being handled again.
- Malformed JSON, unknown version, schema violations, contradictions with stored state:
  rejected without requeue, so RabbitMQ dead-letters them; the log line says why.
- The database unavailable or contended (`failures.py`; also when the delivery cannot even
  be counted): nothing is wrong with the message. It is handed back to the queue after a
  growing, jittered delay, as often as it takes, never dead-lettered, and the delivery does
  not count as an attempt.
- Any other failure (a bug, an unexpected error): handed back after a growing, jittered
  delay; the failure of attempt `max_attempts` is dead-lettered.
- The ack goes out only after the claim's transaction has committed.
"""

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from promotion_service.config import Settings
from promotion_service.consumer.attempts import Delivery, DeliveryAttempts, attempt_key
from promotion_service.consumer.backoff import backoff_delay
from promotion_service.consumer.claim import ClaimOutcome, ClaimResult, PermanentClaimError
from promotion_service.consumer.failures import database_unavailable
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.events.first_login import FirstLoginEvent, InvalidEvent, decode_first_login
from promotion_service.events.sender import check_sender

type ClaimFunction = Callable[[FirstLoginEvent], Awaitable[ClaimResult]]

log = structlog.get_logger("promotion_service.consumer")

PUBLISH_TIMEOUT_SECONDS = 10.0
MAX_LOGGED_ID_LENGTH = 128


def _reason(failure: Exception) -> str:
    return f"{type(failure).__name__}: {failure}"[:300]


def _logged_id(value: str | None) -> str | None:
    return (value or "")[:MAX_LOGGED_ID_LENGTH] or None


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


class MessageHandler:
    """The consume callback; never lets an exception escape to the broker library."""

    def __init__(
        self,
        *,
        settings: Settings,
        claim: ClaimFunction,
        attempts: DeliveryAttempts,
        metrics: ConsumerMetrics,
        stopping: asyncio.Event,
        requeue_exchange: AbstractExchange | None = None,
    ) -> None:
        """`requeue_exchange` (quorum queues: the default exchange of the consuming channel):
        a message waiting for the database is handed back as a fresh copy published there
        (routed to the work queue), then acknowledged. A quorum queue counts every
        nack-with-requeue against its `x-delivery-limit` and would dead-letter the message."""
        self._settings = settings
        self._claim = claim
        self._attempts = attempts
        self._metrics = metrics
        self._stopping = stopping
        self._requeue_exchange = requeue_exchange

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        key = attempt_key(message.message_id, message.body)
        # message_id is the event id by contract; the decoded event_id replaces it below.
        logger = log.bind(
            event_id=_logged_id(message.message_id),
            correlation_id=_logged_id(message.correlation_id),
        )
        try:
            await self._handle(message, key, logger)
        except Exception:  # last resort: leave it to a later delivery, never crash the consumer
            logger.exception("message_handling_failed", outcome="requeued")
            await self._settle(message.nack(requeue=True), logger)
        finally:
            self._metrics.handle_seconds.observe(time.perf_counter() - started)

    async def _handle(self, message: AbstractIncomingMessage, key: str, logger: Any) -> None:
        try:
            delivery = await self._attempts.count(key)
        except Exception as failure:
            # Nothing is known to be wrong with the message: it waits for the database.
            reason = f"cannot count: {_reason(failure)}"
            await self._retry_later(message, 1, reason, logger, database=True)
            return
        attempt = delivery.attempt
        logger = logger.bind(attempt=attempt)
        if attempt > self._settings.max_attempts:
            reason = f"delivered {attempt} times without being settled (did it crash a consumer?)"
            await self._dead_letter(message, key, "attempts_exhausted", reason, logger)
            return
        try:
            check_sender(message.user_id, self._settings.trusted_senders)
            event = decode_first_login(message.body)
        except InvalidEvent as invalid:
            await self._dead_letter(message, key, "invalid", invalid.reason, logger)
            return
        logger = logger.bind(
            event_id=event.event_id,
            correlation_id=event.correlation_id,
            first_login_order=event.first_login_order,
        )
        try:
            result = await self._claim(event)
        except PermanentClaimError as contradiction:
            await self._dead_letter(message, key, "contradiction", str(contradiction), logger)
            return
        except Exception as failure:
            if database_unavailable(failure):
                await self._wait_for_database(message, key, delivery, _reason(failure), logger)
            elif attempt >= self._settings.max_attempts:
                reason = f"gave up after {attempt} attempts: {_reason(failure)}"
                await self._dead_letter(message, key, "attempts_exhausted", reason, logger)
            else:
                await self._retry_later(message, attempt, _reason(failure), logger)
            return
        if await self._settle(message.ack(), logger):
            await self._forget(key, logger)
            self._record(result)
            logger.info(
                "event_handled",
                outcome=result.outcome.value,
                voucher_id=result.voucher_id,
                transaction_attempts=result.transaction_attempts,
            )

    def _record(self, result: ClaimResult) -> None:
        self._metrics.consumed.labels(outcome=result.outcome.value).inc()
        self._metrics.claim_retries.inc(result.transaction_attempts - 1)
        if result.outcome is ClaimOutcome.GRANTED:
            self._metrics.granted.inc()
        elif result.outcome is ClaimOutcome.DUPLICATE_EVENT:
            self._metrics.duplicates.labels(kind="event").inc()
        elif result.outcome is ClaimOutcome.DUPLICATE_ACCOUNT:
            self._metrics.duplicates.labels(kind="account").inc()

    async def _dead_letter(
        self, message: AbstractIncomingMessage, key: str, kind: str, reason: str, logger: Any
    ) -> None:
        if await self._settle(message.reject(requeue=False), logger):
            await self._forget(key, logger)
            self._metrics.dead_lettered.labels(reason=kind).inc()
            logger.warning("event_dead_lettered", outcome="dead_lettered", kind=kind, reason=reason)

    async def _wait_for_database(
        self,
        message: AbstractIncomingMessage,
        key: str,
        delivery: Delivery,
        reason: str,
        logger: Any,
    ) -> None:
        """The database is unavailable or contended: retry later, as often as it takes, and
        do not count this delivery as an attempt (the delay still grows per hand-back)."""
        await self._retry_later(
            message,
            delivery.handed_back + 1,
            reason,
            logger.bind(handed_back=delivery.handed_back),
            database=True,
            uncount=key,
        )

    async def _retry_later(
        self,
        message: AbstractIncomingMessage,
        step: int,
        reason: str,
        logger: Any,
        *,
        database: bool = False,
        uncount: str | None = None,
    ) -> None:
        """Keep the message for a growing delay (or until stopping), then hand it back.

        `database`: the failure is the database's, not the message's; `uncount` names the
        delivery counter to tell that this delivery does not count as an attempt."""
        delay = self._backoff(step)
        logger.warning(
            "event_failed",
            outcome="retry",
            cause="database_unavailable" if database else "error",
            reason=reason,
            retry_in_s=round(delay, 3),
        )
        self._metrics.message_retries.inc()
        await self._pause(delay)
        if not database:
            await self._settle(message.nack(requeue=True), logger)
            return
        if uncount is not None:
            await self._record_hand_back(uncount, logger)
        await self._hand_back(message, logger)

    async def _record_hand_back(self, key: str, logger: Any) -> None:
        """Tell the delivery counter that this delivery was ours to hand back, not a crash.

        Retried while the message is held: left unrecorded, each delivery of a flapping
        database would count as an attempt and a valid event could end dead-lettered. Given
        up only when stopping (the redelivery then counts once)."""
        for step in itertools.count(1):
            try:
                await self._attempts.hand_back(key)
                return
            except Exception as exc:
                logger.warning("attempt_not_uncounted", error=type(exc).__name__, step=step)
            if self._stopping.is_set():
                return
            await self._pause(self._backoff(step))

    def _backoff(self, step: int) -> float:
        """The growing, jittered wait after failed step `step` (1 = the first)."""
        return backoff_delay(
            step,
            base=self._settings.retry_base_delay_seconds,
            ceiling=self._settings.retry_max_delay_seconds,
        )

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the consumer is asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _hand_back(self, message: AbstractIncomingMessage, logger: Any) -> None:
        """Requeue without the broker counting it: a nack for a classic queue; for a quorum
        queue a confirmed fresh copy, then an ack (a nack if the copy cannot be published)."""
        if not _channel_open(message):
            return  # the broker has taken it back already, with the channel
        if self._requeue_exchange is not None and await self._publish_copy(
            self._requeue_exchange, message, logger
        ):
            await self._settle(message.ack(), logger)
            return
        await self._settle(message.nack(requeue=True), logger)

    async def _publish_copy(
        self, exchange: AbstractExchange, message: AbstractIncomingMessage, logger: Any
    ) -> bool:
        try:
            confirmed = await exchange.publish(
                fresh_copy(message, self._settings.broker_user),
                routing_key=self._settings.queue_name,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            logger.warning("requeue_copy_failed", error=type(exc).__name__, fallback="nack")
            return False
        if not isinstance(confirmed, aiormq.spec.Basic.Ack):  # returned: no queue took it
            logger.warning("requeue_copy_failed", error="not_routed", fallback="nack")
            return False
        return True

    async def _forget(self, key: str, logger: Any) -> None:
        try:
            await self._attempts.forget(key)
        except Exception as exc:  # the TTL index removes it later
            logger.warning("attempt_counter_not_removed", error=type(exc).__name__)

    async def settle_requeue(self, message: AbstractIncomingMessage) -> None:
        """Hand a message straight back to the queue (used while stopping)."""
        await self._settle(message.nack(requeue=True), log)

    @staticmethod
    async def _settle(settling: Awaitable[None], logger: Any) -> bool:
        """Ack/nack/reject; a lost channel means the broker redelivers, which is safe."""
        try:
            await settling
        except Exception as exc:
            logger.warning("settle_failed", error=type(exc).__name__)
            return False
        return True
