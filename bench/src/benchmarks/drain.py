"""Consumer throughput: k consumer processes drain a backlog of N first-login events, each
step with its own campaign of N slots (every event granted) and its own account ids."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient

from benchmarks.broker import publish_backlog, wait_for_consumers
from benchmarks.progress import say
from benchmarks.stack import Stack


@dataclass(frozen=True, slots=True)
class DrainRun:
    consumers: int
    events: int
    granted_span_seconds: float  # first to last granted_at: process start-up left out
    wall_seconds: float  # from the first publish to the last voucher seen

    @property
    def per_second(self) -> float:
        return (self.events - 1) / self.granted_span_seconds if self.granted_span_seconds else 0.0


def drain_timeout(events: int) -> float:
    return max(180.0, events / 2.0)


async def wait_handled(handled: Callable[[], Awaitable[float]], events: int, who: str) -> None:
    """Until ``handled()`` reaches ``events``, saying how far it got every 10 s."""
    deadline = time.monotonic() + drain_timeout(events)
    reported = time.monotonic()
    while (done := await handled()) < events:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{who} handled {done:.0f} of {events} events")
        if time.monotonic() - reported > 10:
            say(f"    {done:.0f}/{events} events handled")
            reported = time.monotonic()
        await asyncio.sleep(1.0)


async def start_consumers(stack: Stack, names: list[str], campaign: str, slots: int) -> None:
    """A consumer per name, returning once all are attached (each declares and binds the queue)."""
    for name in names:
        await stack.start_consumer(name, campaign, slots)
    await wait_for_consumers(stack.rabbitmq_url, stack.names.queue, len(names))


async def measure_drain(stack: Stack, consumers: int, events: int) -> DrainRun:
    campaign = f"drain-{consumers}-{stack.run_id}"
    names = [f"consumer-x{consumers}-{index}" for index in range(consumers)]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    vouchers, granted = client[stack.promotion_database]["vouchers"], {"campaign_id": campaign}
    try:
        await start_consumers(stack, names, campaign, events)
        started = time.perf_counter()
        await publish_backlog(stack.rabbitmq_url, stack.names, f"{campaign}-account", events)
        await wait_handled(
            lambda: vouchers.count_documents(granted), events, f"{consumers} consumers"
        )
        wall = time.perf_counter() - started
        stamps = [doc["granted_at"] async for doc in vouchers.find(granted, {"granted_at": 1})]
    finally:
        await client.close()
        await stack.groups.stop_named(*names)
    span = (max(stamps) - min(stamps)).total_seconds()
    return DrainRun(consumers, events, span, wall)
