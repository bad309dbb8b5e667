"""The consumer against real RabbitMQ and MongoDB, in this process: dead-lettering and retries."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import ChannelPreconditionFailed
from pymongo.errors import ServerSelectionTimeoutError

from promotion_service.config import Settings
from promotion_service.consumer.attempts import DeliveryAttempts
from promotion_service.consumer.delivery import Deliveries
from promotion_service.consumer.handler import ClaimFunction, MessageHandler
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.consumer.topology import declare_topology
from promotion_service.db import DELIVERY_ATTEMPTS, PROCESSED_EVENTS, VOUCHERS, Database
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.logs import configure_logging
from promotion_service.transaction import TransactionRetriesExhausted
from promotion_service.vouchers.grant import GrantResult, build_grant
from tests.factories import eventually, first_login_event, publish, queue_depth


@asynccontextmanager
async def running_consumer(settings: Settings) -> AsyncIterator[ConsumerMetrics]:
    stop = asyncio.Event()
    metrics = ConsumerMetrics(heartbeat_seconds=settings.consumer_heartbeat_seconds)
    consumer = FirstLoginConsumer(settings, metrics=metrics)
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
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line[:1]]
    dead_lettered = [line for line in logged if line["event"] == "event_dead_lettered"]
    assert len(dead_lettered) == len(POISON)
    assert all(line["reason"] and line["outcome"] == "dead_lettered" for line in dead_lettered)
    assert any("unknown event version 2" in line["reason"] for line in dead_lettered)


async def _ge(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected


async def _exists(db: Database, event_id: str) -> bool:
    return await db[PROCESSED_EVENTS].count_documents({"_id": event_id}) == 1


def always_failing() -> tuple[ClaimFunction, list[FirstLoginEvent]]:
    """A claim that fails with an error that is not the database's (a bug)."""
    calls: list[FirstLoginEvent] = []

    async def claim(event: FirstLoginEvent) -> GrantResult:
        calls.append(event)
        raise RuntimeError("a bug in the claim")

    return claim, calls


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_maximum_attempts(
    settings: Settings,
    db: Database,
    channel: AbstractChannel,
    queue_type: str,
    capsys: pytest.CaptureFixture[str],
    consumers_claim_with: Callable[[ClaimFunction], None],
) -> None:
    configure_logging(json_logs=True)
    settings = settings.model_copy(update={"queue_type": queue_type, "max_attempts": 3})
    claim, calls = always_failing()
    consumers_claim_with(claim)
    event = first_login_event(1)

    async with running_consumer(settings) as metrics:
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
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line[:1]]
    failed = [line for line in logged if line["event"] == "event_failed"]
    dead = [line for line in logged if line["event"] == "event_dead_lettered"]
    assert [line["attempt"] for line in failed] == [1, 2]
    assert all(line["cause"] == "error" for line in failed)
    assert len(dead) == 1
    assert dead[0]["attempt"] == 3
    assert "gave up after 3 attempts: RuntimeError at " in dead[0]["reason"]
    # Type and place only: an exception's text may quote stored values.
    assert not [line for line in logged if "a bug in the claim" in json.dumps(line)]
    assert all(line["correlation_id"] == event["correlation_id"] for line in [*failed, *dead])


async def test_a_message_that_fails_transiently_is_handled_on_a_later_attempt(
    settings: Settings,
    db: Database,
    channel: AbstractChannel,
    consumers_claim_with: Callable[[ClaimFunction], None],
) -> None:
    real_claim = build_grant(db.client, db, settings).claim
    failures = 2

    async def flaky(event: FirstLoginEvent) -> GrantResult:
        nonlocal failures
        if failures:
            failures -= 1
            raise TimeoutError("primary stepped down")
        return await real_claim(event)

    consumers_claim_with(flaky)
    event = first_login_event(1)
    async with running_consumer(settings):
        await publish(channel, settings, event)
        await eventually(lambda: _exists(db, event["event_id"]), timeout=30, what="event handled")

    assert await db[VOUCHERS].count_documents({}) == 1
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0  # acknowledged: counter removed


async def test_a_delivery_past_the_maximum_attempts_is_dead_lettered_without_handling(
    settings: Settings,
    db: Database,
    channel: AbstractChannel,
    consumers_claim_with: Callable[[ClaimFunction], None],
) -> None:
    """Earlier deliveries that ended in no settlement at all (a crashed process) count."""
    settings = settings.model_copy(update={"max_attempts": 3})
    claim, calls = always_failing()
    consumers_claim_with(claim)
    event = first_login_event(1)
    await db[DELIVERY_ATTEMPTS].insert_one({"_id": f"id:{event['event_id']}", "attempts": 3})

    async with running_consumer(settings) as metrics:
        await publish(channel, settings, event)
        count = dead_letter_count(channel, settings)
        await eventually(lambda: _ge(count, 1), timeout=30, what="message dead-lettered")

    assert calls == []
    assert metrics.dead_lettered.labels(reason="attempts_exhausted")._value.get() == 1
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0


class FailingClaim:
    """The real claim, after `failures` calls that raise `failure` (the database away)."""

    def __init__(self, db: Database, settings: Settings, failures: int, failure: Exception) -> None:
        self.calls = 0
        self.counter_when_handled: dict[str, object] | None = None
        self._db = db
        self._claim = build_grant(db.client, db, settings).claim
        self._failures = failures
        self._failure = failure

    async def __call__(self, event: FirstLoginEvent) -> GrantResult:
        self.calls += 1
        if self.calls <= self._failures:
            raise self._failure
        self.counter_when_handled = await self._db[DELIVERY_ATTEMPTS].find_one(
            {"_id": f"id:{event.event_id}"}
        )
        return await self._claim(event)


@pytest.mark.parametrize(
    ("queue_type", "failure"),
    [
        ("classic", ServerSelectionTimeoutError("no replica set primary")),
        ("quorum", ServerSelectionTimeoutError("no replica set primary")),
        ("classic", TransactionRetriesExhausted("gave up after 10 attempts")),
    ],
    ids=["classic", "quorum", "classic-contended"],
)
async def test_an_event_outlasting_a_database_outage_is_handled_and_never_dead_lettered(
    settings: Settings,
    db: Database,
    channel: AbstractChannel,
    queue_type: str,
    failure: Exception,
    capsys: pytest.CaptureFixture[str],
    consumers_claim_with: Callable[[ClaimFunction], None],
) -> None:
    configure_logging(json_logs=True)
    settings = settings.model_copy(update={"queue_type": queue_type, "max_attempts": 3})
    outage = 5 * settings.max_attempts  # failed claims, far beyond the attempt limit
    claim = FailingClaim(db, settings, outage, failure)
    consumers_claim_with(claim)
    event = first_login_event(1)

    async with running_consumer(settings) as metrics:
        await publish(channel, settings, event)
        await eventually(lambda: _exists(db, event["event_id"]), timeout=60, what="event handled")

    assert claim.calls == outage + 1
    voucher = await db[VOUCHERS].find_one({"account_id": event["account_id"]})
    assert voucher is not None
    assert voucher["slot"] == 1
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)
    assert metrics.dead_lettered.labels(reason="attempts_exhausted")._value.get() == 0
    assert metrics.granted._value.get() == 1
    assert metrics.message_retries._value.get() == outage
    # Every delivery the handler handed back was uncounted: the crash limit stayed far away.
    assert claim.counter_when_handled is not None
    assert claim.counter_when_handled["attempts"] == outage + 1
    assert claim.counter_when_handled["handed_back"] == outage
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0  # acknowledged: counter removed

    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line[:1]]
    waits = [line for line in logged if line["event"] == "event_failed"]
    handled = [line for line in logged if line["event"] == "event_handled"]
    assert len(waits) == outage
    assert all(line["attempt"] == 1 for line in [*waits, *handled])
    assert [line["handed_back"] for line in waits] == list(range(outage))
    assert all(line["cause"] == "database_unavailable" for line in waits)
    assert not [line for line in logged if line["event"] == "event_dead_lettered"]
    # The login request that caused the event can be followed to its voucher.
    assert len(handled) == 1
    assert handled[0]["correlation_id"] == event["correlation_id"]
    assert handled[0]["voucher_id"] == voucher["_id"]
    assert all(line["correlation_id"] == event["correlation_id"] for line in waits)


async def test_deliveries_handed_back_for_the_database_do_not_count_toward_the_crash_limit(
    settings: Settings, db: Database, channel: AbstractChannel
) -> None:
    settings = settings.model_copy(update={"max_attempts": 3})
    event = first_login_event(1)
    # Ten deliveries so far, eight of them handed back by a handler waiting for the database:
    # this one is the third that counts, within the limit.
    await db[DELIVERY_ATTEMPTS].insert_one(
        {"_id": f"id:{event['event_id']}", "attempts": 10, "handed_back": 8}
    )

    async with running_consumer(settings) as metrics:
        await publish(channel, settings, event)
        await eventually(lambda: _exists(db, event["event_id"]), timeout=30, what="event handled")

    assert await db[VOUCHERS].count_documents({"account_id": event["account_id"]}) == 1
    assert metrics.dead_lettered.labels(reason="attempts_exhausted")._value.get() == 0
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)


class FlappingWhenHandingBack(DeliveryAttempts):
    """The database answers the delivery count, then is away for two hand-back writes."""

    failures_left = 2

    async def hand_back(self, key: str) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise ServerSelectionTimeoutError("no replica set primary")
        await super().hand_back(key)


async def test_a_hand_back_is_recorded_even_when_the_database_flaps_before_the_requeue(
    settings: Settings, db: Database, channel: AbstractChannel, capsys: pytest.CaptureFixture[str]
) -> None:
    """Left unrecorded, every delivery of a flapping database would count as an attempt,
    and a valid event could end dead-lettered."""
    configure_logging(json_logs=True)
    queue = await declare_topology(channel, settings)
    event = first_login_event(1)
    await publish(channel, settings, event)
    claim = FailingClaim(db, settings, 1, ServerSelectionTimeoutError("no replica set primary"))
    metrics = ConsumerMetrics()
    handler = MessageHandler(
        beyond_campaign=build_grant(db.client, db, settings).beyond_campaign,
        claim=claim,
        deliveries=Deliveries(
            settings=settings,
            attempts=FlappingWhenHandingBack(db, ttl=timedelta(hours=1)),
            metrics=metrics,
            stopping=asyncio.Event(),
        ),
        metrics=metrics,
        max_attempts=settings.max_attempts,
        trusted_senders=settings.trusted_senders,
    )

    await eventually(lambda: _depth_is(channel, settings.queue_name, 1), timeout=10, what="queued")
    await handler(await queue.get(timeout=10))

    await eventually(
        lambda: _depth_is(channel, settings.queue_name, 1), timeout=10, what="requeued"
    )
    counter = await db[DELIVERY_ATTEMPTS].find_one({"_id": f"id:{event['event_id']}"})
    assert counter is not None
    assert (counter["attempts"], counter["handed_back"]) == (1, 1), "not counted as an attempt"
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line[:1]]
    not_uncounted = [line for line in logged if line["event"] == "attempt_not_uncounted"]
    assert [line["step"] for line in not_uncounted] == [1, 2]
    assert not_uncounted[0]["error"] == "ServerSelectionTimeoutError"
    assert not_uncounted[0]["correlation_id"] == event["correlation_id"]

    await handler(await queue.get(timeout=10))  # the database is back: handled

    assert await _exists(db, event["event_id"])
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0


async def _depth_is(channel: AbstractChannel, queue: str, expected: int) -> bool:
    return (await queue_depth(channel, queue))[0] == expected


async def test_the_heartbeat_file_is_touched_while_consuming_and_not_after_stopping(
    settings: Settings, tmp_path: Path
) -> None:
    beat = tmp_path / "consumer.heartbeat"
    settings = settings.model_copy(
        update={"consumer_heartbeat_file": beat, "consumer_heartbeat_seconds": 0.05}
    )
    async with running_consumer(settings) as metrics:
        await eventually(lambda: _touched(beat), timeout=10, what="a first heartbeat")
        first = beat.stat().st_mtime_ns
        await eventually(
            lambda: _touched(beat, after=first), timeout=10, what="the heartbeat moving on"
        )
        consuming = metrics.heartbeat.consuming
    stopped = beat.stat().st_mtime_ns
    await asyncio.sleep(0.3)  # six beats' time: none comes once the consumer has stopped
    assert beat.stat().st_mtime_ns == stopped
    # promotion_consumer_consuming follows the same beats: 1 while consuming, then 0.
    assert consuming
    assert not metrics.heartbeat.consuming


async def _touched(path: Path, after: int = -1) -> bool:
    return path.exists() and path.stat().st_mtime_ns > after


async def test_in_quorum_mode_a_poison_message_reaches_a_quorum_dead_letter_queue(
    settings: Settings, channel: AbstractChannel, amqp_connection: AbstractConnection
) -> None:
    """Dead letters are replicated like the work queue's messages and dead-lettered at least
    once (the broker keeps a message until the dead-letter queue confirmed it)."""
    settings = settings.model_copy(update={"queue_type": "quorum"})
    poison = b'{"event_id": "oops",'
    async with running_consumer(settings):
        await publish(channel, settings, poison)
        count = dead_letter_count(channel, settings)
        await eventually(lambda: _ge(count, 1), timeout=30, what="poison message dead-lettered")

    queue = await channel.declare_queue(settings.dead_letter_queue, passive=True)
    message = await queue.get(no_ack=True)
    assert message.body == poison
    # Declaring it again as a quorum queue is accepted; as a classic one, refused: it is one.
    await channel.declare_queue(
        settings.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    other = await amqp_connection.channel()
    with pytest.raises(ChannelPreconditionFailed):
        await other.declare_queue(
            settings.dead_letter_queue, durable=True, arguments={"x-queue-type": "classic"}
        )
