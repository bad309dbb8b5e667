"""Consumer throughput: k consumer processes drain a backlog of N first-login events.

Each step runs its own campaign (slots = N, so every event takes the granting path:
the full claim transaction) and its own account ids. The rate comes from the
vouchers' ``granted_at`` (first to last), so process start-up does not enter it.
"""

import asyncio
import time
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
    granted_span_seconds: float  # first to last granted_at
    wall_seconds: float  # from the first publish to the last voucher seen
    publish_seconds: float

    @property
    def per_second(self) -> float:
        return (self.events - 1) / self.granted_span_seconds if self.granted_span_seconds else 0.0


async def measure_drain(stack: Stack, consumers: int, events: int) -> DrainRun:
    campaign = f"drain-{consumers}-{stack.run_id}"
    children = [
        await stack.start_consumer(f"consumer-x{consumers}-{index}", campaign, events)
        for index in range(consumers)
    ]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        await wait_for_consumers(stack.rabbitmq_url, stack.names.queue, consumers)
        started = time.perf_counter()
        published = await publish_backlog(
            stack.rabbitmq_url, stack.names, f"{campaign}-account", events
        )
        vouchers = client[stack.promotion_database]["vouchers"]
        deadline = time.monotonic() + max(180.0, events / 2.0)
        last_report = 0.0
        while (granted := await vouchers.count_documents({"campaign_id": campaign})) < events:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{consumers} consumers granted only {granted}/{events}")
            if time.monotonic() - last_report > 10:
                say(f"    {granted}/{events} events handled")
                last_report = time.monotonic()
            await asyncio.sleep(1.0)
        wall = time.perf_counter() - started
        stamps = [
            doc["granted_at"]
            async for doc in vouchers.find({"campaign_id": campaign}, {"granted_at": 1})
        ]
    finally:
        await client.close()
        for child in children:
            await stack.groups.stop(child)
    span = (max(stamps) - min(stamps)).total_seconds()
    return DrainRun(consumers, events, span, wall, published)
