"""A real RabbitMQ restart (stop_app, then start_app) is survived by a running consumer.

This test stops the local broker for a few seconds: run it alone against a broker that
nothing else is using at that moment (the suite runs its tests one after another)."""

import asyncio
import shutil
import subprocess

import aio_pika
import pytest

from promotion_service.config import Settings
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.db import PROCESSED_EVENTS, VOUCHERS, Database
from tests.factories import eventually, first_login_event, publish

pytestmark = pytest.mark.integration


def rabbitmqctl(*args: str) -> None:
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        pytest.fail("rabbitmqctl is needed to restart the local broker")
    subprocess.run([executable, *args], capture_output=True, timeout=180, check=True)


async def test_consumer_resumes_after_a_broker_restart_without_loss_or_double_grant(
    settings: Settings, db: Database, rabbitmq_url: str
) -> None:
    stop = asyncio.Event()
    consumer = FirstLoginConsumer(settings, metrics=ConsumerMetrics())
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(consumer.consuming.wait(), timeout=30)
        before = [first_login_event(order) for order in (1, 2)]
        async with await aio_pika.connect(rabbitmq_url) as connection:
            channel = await connection.channel(publisher_confirms=True)
            for event in before:
                await publish(channel, settings, event)
        await eventually(lambda: _processed(db, 2), timeout=30, what="events before the restart")

        try:
            await asyncio.to_thread(rabbitmqctl, "stop_app")
        finally:
            await asyncio.to_thread(rabbitmqctl, "start_app")
            await asyncio.to_thread(rabbitmqctl, "await_startup")

        after = [first_login_event(order) for order in (3, 4)]
        async with await aio_pika.connect(rabbitmq_url) as connection:
            channel = await connection.channel(publisher_confirms=True)
            for event in [*after, before[0]]:  # a duplicate of an event handled before
                await publish(channel, settings, event)
        await eventually(lambda: _processed(db, 4), timeout=90, what="events after the restart")
        await asyncio.sleep(1)  # let the duplicate be handled too
        assert sorted(await db[VOUCHERS].distinct("slot")) == [1, 2, 3, 4]
        assert await db[VOUCHERS].count_documents({}) == 4
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


async def _processed(db: Database, count: int) -> bool:
    return await db[PROCESSED_EVENTS].count_documents({}) == count
