"""The consumer against real RabbitMQ and MongoDB, in this process: dead-lettering and retries."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection

from promotion_service.config import Settings
from promotion_service.consumer.claim import ClaimPolicy, ClaimResult, claim_first_login_voucher
from promotion_service.consumer.handler import ClaimFunction
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.db import DELIVERY_ATTEMPTS, PROCESSED_EVENTS, VOUCHERS, Database
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.log_setup import configure_logging
from tests.factories import eventually, first_login_event, publish, queue_depth


@asynccontextmanager
async def running_consumer(
    settings: Settings, claim: ClaimFunction | None = None
) -> AsyncIterator[ConsumerMetrics]:
    stop = asyncio.Event()
    metrics = ConsumerMetrics()
    consumer = FirstLoginConsumer(settings, metrics=metrics, claim=claim)
    task = asyncio.create_task(consumer.run(stop))
    consuming = asyncio.create_task(consumer.consuming.wait())
    done, _ = await asyncio.wait({task, consuming}, timeout=30, return_when="FIRST_COMPLETED")
    if consuming not in done:
        consuming.cancel()
        if task in done:
            task.result()
        raise AssertionError("consumer did not start consuming within 30 s")
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def channel(amqp_connection: AbstractConnection) -> AsyncIterator[AbstractChannel]:
    channel = await amqp_connection.channel(publisher_confirms=True)
    yield channel
    await channel.close()


def dead_letter_count(channel: AbstractChannel, settings: Settings) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        return (await queue_depth(channel, settings.dead_letter_queue))[0]

    return count


POISON = {
    "malformed JSON": b'{"event_id": "oops",',
    "not an object": b"[1, 2, 3]",
    "unknown version": json.dumps(first_login_event(1, version=2)).encode(),
    "wrong type": json.dumps(first_login_event(2, first_login_order="2")).encode(),
    "missing field": json.dumps(
        {k: v for k, v in first_login_event(3).items() if k != "account_id"}
    ).encode(),
    "extra field": json.dumps(first_login_event(4, is_admin=True)).encode(),
    "not UTF-8": b"\xff\xfe{}",
    "bad date": json.dumps(first_login_event(5, first_login_at="yesterday")).encode(),
}


async def test_poison_messages_are_dead_lettered_and_the_consumer_keeps_going(
    settings: Settings, db: Database, channel: AbstractChannel, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_logs=True)
    async with running_consumer(settings) as metrics:
        for body in POISON.values():
            await publish(channel, settings, body)
        good = first_login_event(6)
        await publish(channel, settings, good)

        count = dead_letter_count(channel, settings)
        await eventually(
            lambda: _ge(count, len(POISON)), timeout=30, what="poison messages dead-lettered"
        )
        await eventually(
            lambda: _exists(db, good["event_id"]), timeout=30, what="the good event handled"
        )

    queue = await channel.declare_queue(settings.dead_letter_queue, passive=True)
    dead = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        dead.append(message.body)
    assert sorted(dead) == sorted(POISON.values())
    assert await db[VOUCHERS].count_documents({}) == 1
    assert metrics.dead_lettered.labels(reason="invalid")._value.get() == len(POISON)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line[:1]]
    dead_lettered = [line for line in logged if line["event"] == "event_dead_lettered"]
    assert len(dead_lettered) == len(POISON)
    assert all(line["reason"] and line["outcome"] == "dead_lettered" for line in dead_lettered)
    assert any("unknown event version 2" in line["reason"] for line in dead_lettered)


async def _ge(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected


async def _exists(db: Database, event_id: str) -> bool:
    return await db[PROCESSED_EVENTS].count_documents({"_id": event_id}) == 1


def always_failing() -> tuple[ClaimFunction, list[FirstLoginEvent]]:
    calls: list[FirstLoginEvent] = []

    async def claim(event: FirstLoginEvent) -> ClaimResult:
        calls.append(event)
        raise ConnectionError("database unavailable")

    return claim, calls


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_maximum_attempts(
    settings: Settings,
    db: Database,
    channel: AbstractChannel,
    queue_type: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_logs=True)
    settings = settings.model_copy(update={"queue_type": queue_type, "max_attempts": 3})
    claim, calls = always_failing()
    event = first_login_event(1)

    async with running_consumer(settings, claim) as metrics:
        await publish(channel, settings, event)
        count = dead_letter_count(channel, settings)
        await eventually(lambda: _ge(count, 1), timeout=30, what="message dead-lettered")

    assert len(calls) == 3
    assert metrics.message_retries._value.get() == 2
    assert metrics.dead_lettered.labels(reason="attempts_exhausted")._value.get() == 1
    queue = await channel.declare_queue(settings.dead_letter_queue, passive=True)
    message = await queue.get(no_ack=True)
    assert json.loads(message.body) == event
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0  # settled: counter removed
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line[:1]]
    attempts = [line["attempt"] for line in logged if line["event"] == "event_failed"]
    dead = [line for line in logged if line["event"] == "event_dead_lettered"]
    assert attempts == [1, 2]
    assert len(dead) == 1
    assert dead[0]["attempt"] == 3
    assert "gave up after 3 attempts: ConnectionError" in dead[0]["reason"]


async def test_a_message_that_fails_transiently_is_handled_on_a_later_attempt(
    settings: Settings, db: Database, channel: AbstractChannel
) -> None:
    policy = ClaimPolicy(settings.campaign_id, 30, 10)
    failures = 2

    async def flaky(event: FirstLoginEvent) -> ClaimResult:
        nonlocal failures
        if failures:
            failures -= 1
            raise TimeoutError("primary stepped down")
        return await claim_first_login_voucher(db.client, db, event, policy)

    event = first_login_event(1)
    async with running_consumer(settings, flaky):
        await publish(channel, settings, event)
        await eventually(lambda: _exists(db, event["event_id"]), timeout=30, what="event handled")

    assert await db[VOUCHERS].count_documents({}) == 1
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0  # acknowledged: counter removed


async def test_a_delivery_past_the_maximum_attempts_is_dead_lettered_without_handling(
    settings: Settings, db: Database, channel: AbstractChannel
) -> None:
    """Earlier deliveries that ended in no settlement at all (a crashed process) count."""
    settings = settings.model_copy(update={"max_attempts": 3})
    claim, calls = always_failing()
    event = first_login_event(1)
    await db[DELIVERY_ATTEMPTS].insert_one({"_id": f"id:{event['event_id']}", "attempts": 3})

    async with running_consumer(settings, claim) as metrics:
        await publish(channel, settings, event)
        count = dead_letter_count(channel, settings)
        await eventually(lambda: _ge(count, 1), timeout=30, what="message dead-lettered")

    assert calls == []
    assert metrics.dead_lettered.labels(reason="attempts_exhausted")._value.get() == 1
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0
