"""What the consumer decides for a delivery, with in-memory stand-ins for the grant, the
attempt counter and the message in hand: which settlement each outcome gets."""

import asyncio
import json
from typing import Any

from promotion_service.config import Settings
from promotion_service.consumer.attempts import AttemptCount
from promotion_service.consumer.delivery import Deliveries
from promotion_service.consumer.handler import MessageHandler
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.vouchers.grant import GrantOutcome, GrantResult
from tests.factories import first_login_event
from tests.unit.held_message import HeldMessage

SETTINGS = Settings(retry_base_delay_seconds=0, retry_max_delay_seconds=0, max_attempts=2)
GRANTED = GrantResult(GrantOutcome.GRANTED, voucher_id="v-1", transaction_attempts=1)
BEYOND = GrantResult(GrantOutcome.BEYOND_CAMPAIGN, voucher_id=None, transaction_attempts=0)


class Counter:
    """The delivery counter, in memory, already at `attempts` earlier deliveries."""

    def __init__(self, calls: list[str], attempts: int = 0) -> None:
        self.calls, self.attempts = calls, attempts

    async def count(self, key: str) -> AttemptCount:
        self.calls.append("count")
        self.attempts += 1
        return AttemptCount(attempt=self.attempts, handed_back=0)

    async def hand_back(self, key: str) -> None:
        self.calls.append("hand_back")

    async def forget(self, key: str) -> None:
        self.calls.append("forget")


def handler(calls: list[str], *, fast: GrantResult | None, earlier: int = 0) -> MessageHandler:
    async def beyond_campaign(event: FirstLoginEvent) -> GrantResult | None:
        return fast

    async def claim(event: FirstLoginEvent) -> GrantResult:
        calls.append("claim")
        return GRANTED

    metrics = ConsumerMetrics()
    deliveries = Deliveries(
        settings=SETTINGS,
        attempts=Counter(calls, earlier),  # type: ignore[arg-type]
        metrics=metrics,
        stopping=asyncio.Event(),
    )
    return MessageHandler(
        beyond_campaign=beyond_campaign,
        claim=claim,
        deliveries=deliveries,
        metrics=metrics,
        max_attempts=SETTINGS.max_attempts,
        trusted_senders=SETTINGS.trusted_senders,
    )


def message(calls: list[str]) -> Any:
    event = first_login_event(1)
    return HeldMessage(
        calls,
        body=json.dumps(event).encode(),
        message_id=event["event_id"],
        correlation_id=event["correlation_id"],
        user_id=SETTINGS.broker_user,
    )


async def test_an_event_that_can_never_win_is_acknowledged_uncounted_and_unclaimed() -> None:
    calls: list[str] = []

    await handler(calls, fast=BEYOND)(message(calls))

    assert calls == ["ack"]


async def test_an_event_that_may_win_is_counted_claimed_acknowledged_then_forgotten() -> None:
    calls: list[str] = []

    await handler(calls, fast=None)(message(calls))

    assert calls == ["count", "claim", "ack", "forget"]


async def test_a_delivery_beyond_the_attempt_limit_is_dead_lettered_without_a_claim() -> None:
    calls: list[str] = []

    await handler(calls, fast=None, earlier=SETTINGS.max_attempts)(message(calls))

    assert calls == ["count", "reject requeue=False", "forget"]
