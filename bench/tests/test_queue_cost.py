"""The drain window: the middle of backlogs filled beforehand, on the real broker."""

import asyncio
import os
import sys
import uuid
from pathlib import Path

import aio_pika
import pytest
from devstack.infra import read_prefixed_line

from benchmarks.bare_consumer import START_SIGNAL
from benchmarks.consumer_costs import Drain, drain_costs, warm_up
from benchmarks.meter import Target
from benchmarks.processes import ProcessGroups

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
BACKLOG = 10_000


def test_a_tenth_of_the_backlog_is_left_out_at_each_end() -> None:
    assert (warm_up(10_000), warm_up(2_000), warm_up(5)) == (1_000, 200, 1)


async def _fill(queue: str, count: int) -> None:
    connection = await aio_pika.connect_robust(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True)
        exchange = channel.default_exchange
        for first in range(0, count, 200):
            batch = range(first, min(count, first + 200))
            await asyncio.gather(
                *(exchange.publish(aio_pika.Message(b"%d" % n), queue) for n in batch)
            )


async def _ready(queue: str) -> int:
    connection = await aio_pika.connect_robust(RABBITMQ_URL)
    async with connection:
        protocol = await (await connection.channel()).get_underlay_channel()
        return (await protocol.queue_declare(queue, passive=True)).message_count or 0


async def _delete(queue: str) -> None:
    connection = await aio_pika.connect_robust(RABBITMQ_URL)
    async with connection:
        await (await connection.channel()).queue_delete(queue)


async def _bare(groups: ProcessGroups, queue: str, tmp_path: Path) -> Drain:
    """The bare loop on ``queue``, started and waiting for its signal."""
    argv = [sys.executable, "-m", "benchmarks.bare_consumer", RABBITMQ_URL, queue]
    child = await groups.start(
        queue, [*argv, "16", str(BACKLOG)], env=dict(os.environ), cwd=tmp_path,
        capture_stdout=True,
    )  # fmt: skip
    await read_prefixed_line(child, "READY=", 60)

    async def start() -> Target:
        os.kill(child.pid, START_SIGNAL)
        return Target(queue, (child.pid,))

    async def finished() -> None:
        await read_prefixed_line(child, "ACKED=", 60)

    return Drain(queue, BACKLOG, start, finished)


def test_two_consumers_are_costed_over_the_middle_of_backlogs_filled_before_they_start(
    tmp_path: Path,
) -> None:
    queues = [f"bench.test.drain.{uuid.uuid4().hex[:8]}" for _ in range(2)]
    groups = ProcessGroups(log_dir=tmp_path)

    async def scenario() -> None:
        try:
            for queue in queues:
                await _fill(queue, BACKLOG)
            drains = [await _bare(groups, queue, tmp_path) for queue in queues]
            costs = await drain_costs(drains, rabbitmq_url=RABBITMQ_URL, idle_seconds=1.0)
            remaining = [await _ready(queue) for queue in queues]
        finally:
            await groups.stop_all()
            for queue in queues:
                await _delete(queue)
        assert remaining == [0, 0]  # each consumer went on to handle its whole backlog
        # The window opens when both queues have dropped by a tenth and closes when the
        # first is down to its last tenth: at most each consumer's middle (give or take the
        # messages consumed while the readings are taken), at least a tenth of its backlog
        # (the two share the cores, and need not drain at one speed).
        middle = BACKLOG - 2 * warm_up(BACKLOG)
        for cost in costs:
            assert BACKLOG // 10 <= cost.operations <= middle + warm_up(BACKLOG)
            assert cost.cpu_per_op > 0
        assert costs[0].seconds == costs[1].seconds  # one window

    try:
        asyncio.run(scenario())
    except aio_pika.exceptions.AMQPConnectionError as exc:  # pragma: no cover - a clear failure
        pytest.fail(f"RabbitMQ is not reachable at {RABBITMQ_URL}: {exc}")
