"""What one message costs consumers in their steady state: queues filled beforehand, drained.

Each backlog is in its queue before its consumer starts, so no publisher shares the cores
while it is measured, and the broker feeds each consumer as fast as it acknowledges, at its
prefetch. Consumers costed together drain side by side, over one window: this machine's
speed drifts by up to a factor of two within a minute (its cores are shared), and a ratio
of two consumers measured side by side does not drift with it. Each starts once the one
before it is consuming. The window opens once every queue has dropped by a tenth of its
backlog (start-ups, connections and caches behind) and closes when the first queue gets
down to its last tenth (before a tail where the prefetch runs dry). A consumer's messages
are the drop of its queue's ready count, read right after the CPU; the run's polls go to
the broker, never to a consumer. Counters are scraped outside the window; idle rates are
measured once the queues are empty.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import aio_pika
import aiormq

from benchmarks.meter import (
    Cost,
    Reading,
    Target,
    group_cpus,
    idle_rates,
    scrape_counters,
    window_cost,
)

POLL_SECONDS = 0.01


def warm_up(total: int) -> int:
    """Messages left out of the window at each end: a tenth of the backlog."""
    return max(1, total // 10)


@dataclass(frozen=True, slots=True)
class Drain:
    """One consumer and the backlog waiting for it in ``queue``."""

    queue: str
    total: int
    start: Callable[[], Awaitable[Target]]  # starts it; its processes and endpoints
    finished: Callable[[], Awaitable[None]]  # returns once it handled the whole backlog


class _ReadyCount:
    """A queue's ready messages, by a passive declare on the run's own connection (on the
    protocol channel: aio-pika's own ``declare_queue`` answers a repeat from its cache)."""

    def __init__(self, channel: aiormq.abc.AbstractChannel, queue: str) -> None:
        self._channel, self.queue = channel, queue

    async def __call__(self) -> int:
        declared = await self._channel.queue_declare(self.queue, passive=True)
        return declared.message_count or 0

    async def until_at_most(self, count: int, deadline: float) -> None:
        await _until_one_at_most([self], [count], deadline)


def _readings(
    targets: list[Target], counters: list[dict[str, float]] | None = None
) -> list[Reading]:
    """Every target's CPU, read back to back and stamped with one time, the middle of the
    reads: the consumers share one window, however long reading ``/proc`` takes."""
    started = time.monotonic()
    cpus = [group_cpus(target) for target in targets]
    at = (started + time.monotonic()) / 2
    found = counters or [{} for _ in targets]
    return [Reading(at, cpu, c, main) for (cpu, main), c in zip(cpus, found, strict=True)]


async def _until_one_at_most(ready: list[_ReadyCount], limits: list[int], deadline: float) -> None:
    """Until one of the queues is down to its limit (polled in turn: an RPC cancelled
    halfway would close the channel)."""
    while True:
        for count, limit in zip(ready, limits, strict=True):
            if await count() <= limit:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{' or '.join(c.queue for c in ready)} did not drain in time")
        await asyncio.sleep(POLL_SECONDS)


async def drain_costs(
    drains: list[Drain], *, rabbitmq_url: str, idle_seconds: float, timeout: float
) -> list[Cost]:
    """Cost per message of each consumer draining its backlog, all over one window."""
    deadline = time.monotonic() + timeout
    connection = await aio_pika.connect_robust(rabbitmq_url)
    async with connection:
        protocol = await (await connection.channel()).get_underlay_channel()
        ready = [_ReadyCount(protocol, drain.queue) for drain in drains]
        targets = []
        for drain, count in zip(drains, ready, strict=True):
            targets.append(await drain.start())
            await count.until_at_most(drain.total - 1, deadline)  # it is consuming
        for drain, count in zip(drains, ready, strict=True):
            await count.until_at_most(drain.total - warm_up(drain.total), deadline)
        before = _readings(targets, [await scrape_counters(target) for target in targets])
        opened = [await count() for count in ready]
        await _until_one_at_most(ready, [warm_up(drain.total) for drain in drains], deadline)
        closing = _readings(targets)
        left = [await count() for count in ready]
        after = [
            replace(reading, counters=await scrape_counters(target))
            for reading, target in zip(closing, targets, strict=True)
        ]
    for drain in drains:
        await drain.finished()
    costs = []
    for index, drain in enumerate(drains):
        operations = opened[index] - left[index]
        if operations < drain.total // 10:
            raise RuntimeError(
                f"only {operations} of {drain.total} messages of {drain.queue} fell in the "
                "window: the backlogs drained faster than their readings could follow, or "
                "at very different speeds; make them larger"
            )
        idle = await idle_rates(targets[index], idle_seconds)
        costs.append(window_cost(before[index], after[index], idle, operations, None))
    return costs
