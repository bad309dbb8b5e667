"""What happens to one delivery: decode, claim, then ack, retry later, or dead-letter.

- Malformed JSON, unknown version, schema violations, contradictions with stored state:
  rejected without requeue, so RabbitMQ dead-letters them; the log line says why.
- Other failures (database down, conflicts that outlast the transaction's retries): handed
  back for a later attempt after a growing delay; the attempt after `max_attempts` is
  dead-lettered. Classic queues count attempts in a header on a republished copy; quorum
  queues count deliveries themselves (x-delivery-count, bounded by x-delivery-limit).
- The ack goes out only after the claim's transaction has committed.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from promotion_service.config import Settings
from promotion_service.consumer.claim import ClaimOutcome, ClaimResult, PermanentClaimError
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.events.first_login import FirstLoginEvent, InvalidEvent, decode_first_login

ATTEMPT_HEADER = "x-promotion-attempt"

type ClaimFunction = Callable[[FirstLoginEvent], Awaitable[ClaimResult]]

log = structlog.get_logger("promotion_service.consumer")


def attempt_number(headers: Mapping[str, Any] | None, queue_type: str) -> int:
    """1 for a first delivery; counted by our header (classic) or by the broker (quorum)."""
    headers = headers or {}
    if queue_type == "quorum":
        count = headers.get("x-delivery-count")
        return count + 1 if isinstance(count, int) and count >= 0 else 1
    attempt = headers.get(ATTEMPT_HEADER)
    return attempt if isinstance(attempt, int) and attempt >= 1 else 1


def retry_delay_seconds(attempt: int, base: float, ceiling: float) -> float:
    """Exponential backoff with jitter in [half, full] of the step."""
    step = min(ceiling, base * 2 ** max(attempt - 1, 0))
    return random.uniform(step / 2, step)  # noqa: S311 - jitter, not cryptography


class MessageHandler:
    """The consume callback; never lets an exception escape to the broker library."""

    def __init__(
        self,
        *,
        settings: Settings,
        claim: ClaimFunction,
        channel: AbstractChannel,
        metrics: ConsumerMetrics,
        stopping: asyncio.Event,
    ) -> None:
        self._settings = settings
        self._claim = claim
        self._channel = channel
        self._metrics = metrics
        self._stopping = stopping

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        attempt = attempt_number(message.headers, self._settings.queue_type)
        # message_id is the event id by contract; the decoded event_id replaces it below.
        logger = log.bind(event_id=(message.message_id or "")[:128] or None, attempt=attempt)
        try:
            await self._handle(message, attempt, logger)
        except Exception:  # last resort: leave it to a later delivery, never crash the consumer
            logger.exception("message_handling_failed", outcome="requeued")
            await self._settle(message.nack(requeue=True), logger)
        finally:
            self._metrics.handle_seconds.observe(time.perf_counter() - started)

    async def _handle(self, message: AbstractIncomingMessage, attempt: int, logger: Any) -> None:
        try:
            event = decode_first_login(message.body)
        except InvalidEvent as invalid:
            await self._dead_letter(message, "invalid", invalid.reason, logger)
            return
        logger = logger.bind(event_id=event.event_id, first_login_order=event.first_login_order)
        try:
            result = await self._claim(event)
        except PermanentClaimError as contradiction:
            await self._dead_letter(message, "contradiction", str(contradiction), logger)
            return
        except Exception as failure:
            reason = f"{type(failure).__name__}: {failure}"[:300]
            await self._retry_or_give_up(message, attempt, reason, logger)
            return
        if await self._settle(message.ack(), logger):
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
        self, message: AbstractIncomingMessage, kind: str, reason: str, logger: Any
    ) -> None:
        if await self._settle(message.reject(requeue=False), logger):
            self._metrics.dead_lettered.labels(reason=kind).inc()
            logger.warning("event_dead_lettered", outcome="dead_lettered", kind=kind, reason=reason)

    async def _retry_or_give_up(
        self, message: AbstractIncomingMessage, attempt: int, reason: str, logger: Any
    ) -> None:
        if attempt >= self._settings.max_attempts:
            await self._dead_letter(
                message, "attempts_exhausted", f"gave up after {attempt} attempts: {reason}", logger
            )
            return
        delay = retry_delay_seconds(
            attempt,
            self._settings.retry_base_delay_seconds,
            self._settings.retry_max_delay_seconds,
        )
        logger.warning("event_failed", outcome="retry", reason=reason, retry_in_s=round(delay, 3))
        self._metrics.message_retries.inc()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        if self._settings.queue_type == "quorum" or self._stopping.is_set():
            await self._settle(message.nack(requeue=True), logger)
            return
        try:
            await self._republish(message, attempt + 1)
        except Exception:
            logger.exception("retry_republish_failed", outcome="requeued")
            await self._settle(message.nack(requeue=True), logger)
            return
        await self._settle(message.ack(), logger)

    async def _republish(self, message: AbstractIncomingMessage, next_attempt: int) -> None:
        """A confirmed copy with the next attempt number, then the caller acks the original."""
        copy = Message(
            body=message.body,
            headers={**(message.headers or {}), ATTEMPT_HEADER: next_attempt},
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
            delivery_mode=DeliveryMode.PERSISTENT,
        )
        await self._channel.default_exchange.publish(
            copy, routing_key=self._settings.queue_name, mandatory=True
        )

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
