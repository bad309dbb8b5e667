"""Several consumer processes on one queue; kill -9 and SIGTERM. Real RabbitMQ and MongoDB."""

import asyncio
import json
import os
import random
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from pymongo import AsyncMongoClient

from promotion_service.config import Settings
from promotion_service.consumer.topology import declare_topology
from promotion_service.db import (
    CAMPAIGNS,
    DELIVERY_ATTEMPTS,
    PROCESSED_EVENTS,
    VOUCHERS,
    Database,
    prepare_database,
)
from tests.conftest import launched_standin
from tests.factories import (
    drain_dead_letters,
    eventually,
    first_login_event,
    publish,
    queue_depth,
)
from tests.integration.consumer_processes import ConsumerProcess
from tests.rabbitmq_node import free_port


@pytest.fixture
async def channel(
    amqp_connection: AbstractConnection, settings: Settings
) -> AsyncIterator[AbstractChannel]:
    channel = await amqp_connection.channel(publisher_confirms=True)
    await declare_topology(channel, settings)  # the same declaration the consumers make
    yield channel
    await channel.close()


class StartConsumer(Protocol):
    def __call__(
        self, name: str, own: Settings | None = None, /, **env: str
    ) -> ConsumerProcess: ...


@pytest.fixture
def start_consumer(settings: Settings, tmp_path: Path) -> Iterator[StartConsumer]:
    started: list[ConsumerProcess] = []

    def start(name: str, own: Settings | None = None, /, **env: str) -> ConsumerProcess:
        unique = f"{name}-{uuid.uuid4().hex[:6]}"
        process = ConsumerProcess(own or settings, tmp_path, unique, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


async def wait_for_consumers(channel: AbstractChannel, settings: Settings, count: int) -> None:
    async def attached() -> bool:
        return (await queue_depth(channel, settings.queue_name))[1] == count

    await eventually(attached, timeout=60, what=f"{count} consumers attached")


def processed_at_least(db: Database, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await db[PROCESSED_EVENTS].count_documents({}) >= count

    return check


async def test_three_consumer_processes_grant_exactly_the_first_hundred_orders(
    settings: Settings,
    db: Database,
    channel: AbstractChannel,
    amqp_connection: AbstractConnection,
    start_consumer: StartConsumer,
) -> None:
    rng = random.Random(4)
    events = [first_login_event(order) for order in range(1, 301)]
    same_event_again = rng.sample(events, 50)
    same_account_new_event = [
        first_login_event(e["first_login_order"], e["account_id"]) for e in rng.sample(events, 20)
    ]
    messages = events + same_event_again + same_account_new_event
    rng.shuffle(messages)
    consumers = [start_consumer(f"acceptance-{n}") for n in range(3)]
    await wait_for_consumers(channel, settings, 3)

    for body in messages[:200]:
        await publish(channel, settings, body)
    # Redeliveries: take some messages without acknowledging them, then give them back.
    thief = await amqp_connection.channel()
    await thief.set_qos(prefetch_count=15)
    stolen = asyncio.Queue[object]()
    queue = await thief.get_queue(settings.queue_name)
    await queue.consume(stolen.put, no_ack=False)
    for body in messages[200:]:
        await publish(channel, settings, body)
    for _ in range(15):
        await asyncio.wait_for(stolen.get(), timeout=30)
    await thief.close()  # unacknowledged: RabbitMQ redelivers them to the consumers

    await eventually(
        vouchers_granted(db, settings, 100), timeout=180, interval=0.5, what="100 vouchers granted"
    )
    await eventually(lambda: _queue_empty(channel, settings), timeout=60, what="work queue drained")
    for consumer in consumers:
        consumer.process.send_signal(signal.SIGTERM)
    exit_codes = [await consumer.wait(timeout=30) for consumer in consumers]

    assert exit_codes == [0, 0, 0]
    vouchers = await db[VOUCHERS].find({"campaign_id": settings.campaign_id}).to_list()
    assert len(vouchers) == 100
    assert sorted(v["slot"] for v in vouchers) == list(range(1, 101))
    assert {v["account_id"] for v in vouchers} == {f"acct-{order:05d}" for order in range(1, 101)}
    campaign = await db[CAMPAIGNS].find_one({"_id": settings.campaign_id})
    assert campaign is not None
    assert campaign["slots_claimed"] == 100
    # Orders beyond the campaign take the fast path: acknowledged, nothing recorded.
    recorded = await db[PROCESSED_EVENTS].find({}).to_list()
    assert {r["_id"] for r in recorded} >= {e["event_id"] for e in events[:100]}
    assert all(r["first_login_order"] <= 100 for r in recorded)
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)
    handled_by = [
        [json.loads(line) for line in c.output().splitlines() if '"event_handled"' in line]
        for c in consumers
    ]
    assert all(lines for lines in handled_by)  # all three took part
    log_lines = [line for lines in handled_by for line in lines]
    assert len(log_lines) == len(messages)  # one line per message
    assert all({"event_id", "outcome"} <= line.keys() for line in log_lines)
    assert sum(line["outcome"] == "granted" for line in log_lines) == 100
    beyond = [line for line in log_lines if line["outcome"] == "beyond_campaign"]
    beyond_orders = sum(m["first_login_order"] > 100 for m in messages)
    assert len(beyond) >= beyond_orders
    assert all("attempt" not in line for line in beyond)  # no delivery bookkeeping


def vouchers_granted(db: Database, settings: Settings, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await db[VOUCHERS].count_documents({"campaign_id": settings.campaign_id}) >= count

    return check


async def _queue_empty(channel: AbstractChannel, settings: Settings) -> bool:
    return (await queue_depth(channel, settings.queue_name))[0] == 0


TRANSACTION_LIFETIME_SECONDS = 5


@pytest.fixture
async def own_mongodb(
    tmp_path: Path, settings: Settings
) -> AsyncIterator[tuple[Settings, Database]]:
    """A MongoDB server for this test alone: killing a consumer may leave a transaction open,
    which the server aborts after its transaction lifetime (MongoDB's
    transactionLifetimeLimitSeconds, 60 s by default; this stand-in's, 5 s)."""
    uri_context: AbstractContextManager[str]
    if os.environ.get("MONGODB_URI"):
        uri_context = nullcontext(settings.mongodb_uri)
    else:
        uri_context = launched_standin(
            tmp_path / "kill.sqlite", "--transaction-lifetime", str(TRANSACTION_LIFETIME_SECONDS)
        )
    with uri_context as uri:
        own = settings.model_copy(update={"mongodb_uri": uri})
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri, tz_aware=True)
        db = client[own.mongodb_database]
        await prepare_database(db, own)
        yield own, db
        await client.drop_database(own.mongodb_database)
        await client.close()


# Claims that conflict with a transaction the killed process left open are retried for
# longer than any server keeps such a transaction (at most about 70 s here).
OUTLAST_ORPHANED_TRANSACTIONS = {
    "PROMOTION_MAX_ATTEMPTS": "20",
    "PROMOTION_RETRY_MAX_DELAY_SECONDS": "5",
}


async def test_a_consumer_killed_mid_batch_loses_and_duplicates_nothing(
    own_mongodb: tuple[Settings, Database], channel: AbstractChannel, start_consumer: StartConsumer
) -> None:
    """kill -9 while a prefetch window of deliveries is in hand (some claimed, maybe one
    mid-transaction, none acknowledged): after a restart every event is handled once."""
    settings, db = own_mongodb
    events = [first_login_event(order) for order in range(1, 81)]
    first = start_consumer("doomed", settings, PROMOTION_CONSUMER_PREFETCH="4")
    await wait_for_consumers(channel, settings, 1)
    for body in events:
        await publish(channel, settings, body)
    await eventually(processed_at_least(db, 10), timeout=60, what="first events processed")

    first.process.send_signal(signal.SIGKILL)
    assert await first.wait(timeout=10) == -signal.SIGKILL

    handled_before_kill = await db[PROCESSED_EVENTS].count_documents({})
    assert handled_before_kill < len(events), "the kill came too late to prove anything"
    start_consumer("successor", settings, **OUTLAST_ORPHANED_TRANSACTIONS)
    await eventually(
        processed_at_least(db, len(events)), timeout=150, what="all events processed after restart"
    )
    await eventually(lambda: _queue_empty(channel, settings), timeout=60, what="queue drained")

    vouchers = await db[VOUCHERS].find({}).to_list()
    assert len(vouchers) == len(events)
    assert len({v["account_id"] for v in vouchers}) == len(events)
    assert sorted(v["slot"] for v in vouchers) == list(range(1, len(events) + 1))
    campaign = await db[CAMPAIGNS].find_one({"_id": settings.campaign_id})
    assert campaign is not None
    assert campaign["slots_claimed"] == len(events)
    assert await db[PROCESSED_EVENTS].count_documents({}) == len(events)
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)


async def test_a_message_that_kills_its_consumer_is_dead_lettered_after_the_maximum_attempts(
    settings: Settings, db: Database, channel: AbstractChannel, start_consumer: StartConsumer
) -> None:
    """A classic queue does not count redeliveries after a crash; the consumer's own
    counter in MongoDB does, so the poison stops killing consumers after max_attempts."""
    poison = first_login_event(1, account_id="acct-crasher")
    behind = [first_login_event(order) for order in (2, 3)]
    for body in (poison, *behind):  # published first: the poison heads the queue
        await publish(channel, settings, body)
    crashing = {
        "module": "tests.integration.crashing_consumer",
        "TEST_CRASH_ON_ACCOUNT": "acct-crasher",
        "PROMOTION_MAX_ATTEMPTS": "3",
        "PROMOTION_CONSUMER_PREFETCH": "1",
    }

    for _ in range(3):
        victim = start_consumer("crash", **crashing)
        assert await victim.wait(timeout=60) == -signal.SIGKILL, victim.output()
    survivor = start_consumer("survivor", **crashing)
    await eventually(processed_at_least(db, len(behind)), timeout=60, what="events behind it")
    survivor.process.send_signal(signal.SIGTERM)
    assert await survivor.wait(timeout=30) == 0

    dead = await drain_dead_letters(channel, settings)
    assert [json.loads(body) for body in dead] == [poison]
    logged = [json.loads(line) for line in survivor.output().splitlines() if line[:1] == "{"]
    dead_lettered = [line for line in logged if line["event"] == "event_dead_lettered"]
    assert len(dead_lettered) == 1
    assert dead_lettered[0]["kind"] == "attempts_exhausted"
    assert dead_lettered[0]["attempt"] == 4
    assert "delivered 4 times" in dead_lettered[0]["reason"]
    assert await db[VOUCHERS].count_documents({"account_id": "acct-crasher"}) == 0
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0


async def test_sigterm_finishes_in_flight_work_and_exits_zero(
    settings: Settings, db: Database, channel: AbstractChannel, start_consumer: StartConsumer
) -> None:
    events = [first_login_event(order) for order in range(1, 61)]
    consumer = start_consumer("graceful")
    await wait_for_consumers(channel, settings, 1)
    for body in events:
        await publish(channel, settings, body)
    await eventually(processed_at_least(db, 5), timeout=60, what="first events processed")

    consumer.process.send_signal(signal.SIGTERM)
    exit_code = await consumer.wait(timeout=30)

    assert exit_code == 0, consumer.output()
    output = consumer.output()
    assert '"consumer_stopping"' in output
    assert '"consumer_stopped"' in output
    processed = await db[PROCESSED_EVENTS].count_documents({})
    left_in_queue, consumers = await queue_depth(channel, settings.queue_name)
    assert consumers == 0
    # Every delivered message was finished and acknowledged, or handed back untouched:
    # nothing committed was left unacknowledged (that would be counted twice here).
    assert processed + left_in_queue == len(events)
    assert processed < len(events), "the stop came too late to prove anything"


async def test_in_production_the_consumer_refuses_the_default_broker_credentials(
    start_consumer: StartConsumer,
) -> None:
    consumer = start_consumer(
        "production",
        PROMOTION_ENVIRONMENT="production",
        MONGODB_URI="mongodb://svc:pw@127.0.0.1:1/?tls=true",
        RABBITMQ_URL="amqp://guest:guest@127.0.0.1:5672/",
    )

    exit_code = await consumer.wait(timeout=30)

    assert exit_code == 2
    assert "refusing_to_start" in consumer.output()
    assert "guest" in consumer.output()


async def test_the_metrics_listen_on_the_configured_host_only(
    start_consumer: StartConsumer,
) -> None:
    port = free_port()
    consumer = start_consumer(
        "metrics-host", PROMOTION_HOST="127.0.0.2", PROMOTION_CONSUMER_METRICS_PORT=str(port)
    )

    async def answers(host: str) -> bool:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            return False
        writer.close()
        return True

    await eventually(lambda: answers("127.0.0.2"), timeout=30, what="metrics on 127.0.0.2")
    assert not await answers("127.0.0.1"), "bound to every address, not the configured one"
    consumer.kill()
