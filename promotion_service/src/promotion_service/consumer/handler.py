"""One delivery: decode -> grant -> ack, retry later, or dead-letter.

1. Decode. A message that can never be handled (sent by anyone but the login service or
   this consumer's own hand-back, malformed JSON, unknown version, a body the schema
   refuses) is dead-lettered; the log line says why.
2. The fast path: an event that can never win (beyond the campaign's slots, or a campaign
   that ended or is exhausted) is acknowledged from the cached campaign terms: no delivery
   bookkeeping, no transaction, no write.
3. Otherwise the delivery is counted (``delivery.py``); one beyond ``max_attempts`` (it
   crashed or killed earlier consumers) is dead-lettered without being claimed again.
4. The claim (``vouchers/grant.py``), one transaction; the ack goes out only after it
   committed. An event that contradicts stored state is dead-lettered; the database
   unavailable or contended (``failures.py``) means waiting for it, never dead-lettering;
   any other failure is retried later, and the failure of the last attempt dead-lettered.
"""

import time
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractIncomingMessage

from promotion_service.consumer.delivery import Deliveries, Delivery
from promotion_service.consumer.failures import database_unavailable, describe
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.errors import PermanentGrantError
from promotion_service.events.first_login import FirstLoginEvent, InvalidEvent, decode_first_login
from promotion_service.events.sender import check_sender
from promotion_service.raised_at import raised_at
from promotion_service.vouchers.grant import GrantOutcome, GrantResult

type ClaimFunction = Callable[[FirstLoginEvent], Awaitable[GrantResult]]
type FastPath = Callable[[FirstLoginEvent], Awaitable[GrantResult | None]]


class AttemptsExhausted(Exception):
    """The delivery is counted beyond ``max_attempts``: it is dead-lettered unclaimed."""


class MessageHandler:
    """The consume callback; never lets an exception escape to the broker library."""

    def __init__(
        self,
        *,
        beyond_campaign: FastPath,
        claim: ClaimFunction,
        deliveries: Deliveries,
        metrics: ConsumerMetrics,
        max_attempts: int,
        trusted_senders: frozenset[str],
    ) -> None:
        self._beyond_campaign = beyond_campaign
        self._claim = claim
        self._deliveries = deliveries
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._trusted_senders = trusted_senders
        # Each outcome's counter, looked up once: a label lookup takes a lock and a hash, which
        # the fast path must not spend per message (docs/decisions.md, section 16).
        self._consumed = {
            outcome: metrics.consumed.labels(outcome=outcome.value) for outcome in GrantOutcome
        }

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        delivery = self._deliveries.of(message)
        try:
            await self._handle(delivery)
        except Exception as exc:  # last resort: leave it to a later delivery, never crash
            delivery.logger.error(
                "message_handling_failed", error=type(exc).__name__, at=raised_at(exc)
            )
            await delivery.requeue_now()
        finally:
            self._metrics.handle_seconds.observe(time.perf_counter() - started)

    async def _handle(self, delivery: Delivery) -> None:
        try:
            check_sender(delivery.sender, self._trusted_senders)
            event = decode_first_login(delivery.body)
        except InvalidEvent as invalid:
            await delivery.dead_letter("invalid", invalid.reason)
            return
        delivery.bind(
            event_id=event.event_id,
            correlation_id=event.correlation_id,
            first_login_order=event.first_login_order,
        )
        try:
            result = await self._grant(delivery, event)
        except AttemptsExhausted as exhausted:
            await delivery.dead_letter("attempts_exhausted", str(exhausted))
            return
        except PermanentGrantError as contradiction:
            await delivery.dead_letter("contradiction", describe(contradiction))
            return
        except Exception as failure:
            await self._failed(delivery, failure)
            return
        if await delivery.ack():
            self._record(result)
            delivery.logger.info(
                "event_handled",
                outcome=result.outcome.value,
                voucher_id=result.voucher_id,
                transaction_attempts=result.transaction_attempts,
            )

    async def _grant(self, delivery: Delivery, event: FirstLoginEvent) -> GrantResult:
        """The fast path's result if the event can never win; else, for a delivery counted
        within the attempt limit, the claim's. Raises AttemptsExhausted beyond the limit."""
        beyond = await self._beyond_campaign(event)
        if beyond is not None:
            return beyond
        attempt = await delivery.count()
        if attempt > self._max_attempts:
            raise AttemptsExhausted(
                f"delivered {attempt} times without being settled (did it crash a consumer?)"
            )
        return await self._claim(event)

    async def _failed(self, delivery: Delivery, failure: Exception) -> None:
        if database_unavailable(failure):
            await delivery.wait_for_database(describe(failure))
        elif delivery.attempt >= self._max_attempts:
            reason = f"gave up after {delivery.attempt} attempts: {describe(failure)}"
            await delivery.dead_letter("attempts_exhausted", reason)
        else:
            await delivery.retry_later(describe(failure))

    async def requeue_now(self, message: AbstractIncomingMessage) -> None:
        """Hand a message straight back to the queue (delivered while stopping)."""
        await self._deliveries.of(message).requeue_now()

    def _record(self, result: GrantResult) -> None:
        self._consumed[result.outcome].inc()
        if result.transaction_attempts > 1:
            self._metrics.claim_retries.inc(result.transaction_attempts - 1)
        if result.outcome is GrantOutcome.GRANTED:
            self._metrics.granted.inc()
        elif result.outcome is GrantOutcome.DUPLICATE_EVENT:
            self._metrics.duplicates.labels(kind="event").inc()
        elif result.outcome is GrantOutcome.DUPLICATE_ACCOUNT:
            self._metrics.duplicates.labels(kind="account").inc()
