"""Per-event costs of the promotion consumer and of a bare consume-and-ack loop (its floor),
each over the steady middle of draining a backlog published before it started."""

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

import aio_pika
import httpx
from devstack.infra import read_prefixed_line

from benchmarks.bare_consumer import START_SIGNAL
from benchmarks.broker import publish_backlog
from benchmarks.drain import drain_timeout, start_consumers, wait_handled
from benchmarks.meter import (
    Cost,
    Reading,
    Target,
    counter_total,
    group_cpus,
    idle_rates,
    ratio,
    scrape_counters,
    window_cost,
)
from benchmarks.plan import Plan
from benchmarks.progress import say
from benchmarks.stack import Stack

CAMPAIGN_SLOTS = 100  # the default campaign's size: events beyond it cannot win
CONSUMED = "promotion_events_consumed_total"
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


def _readings(targets: list[Target]) -> list[Reading]:
    """Every target's CPU, read back to back and stamped with one time, the middle of the
    reads: the consumers share one window, however long reading ``/proc`` takes."""
    started = time.monotonic()
    cpus = [group_cpus(target) for target in targets]
    at = (started + time.monotonic()) / 2
    return [Reading(at, cpu, {}, main_threads) for cpu, main_threads in cpus]


async def drain_costs(drains: list[Drain], *, rabbitmq_url: str, idle_seconds: float) -> list[Cost]:
    """Cost per message of each consumer draining its backlog, all over one window: from
    every queue down by a tenth until the first one is down to its last tenth. A consumer's
    messages are its queue's drop in ready messages; the counters are scraped outside."""
    deadline = time.monotonic() + drain_timeout(max(drain.total for drain in drains))
    connection = await aio_pika.connect_robust(rabbitmq_url)
    async with connection:
        # Passive declares on the protocol channel: aio-pika's answers a repeat from its cache.
        channel = await (await connection.channel()).get_underlay_channel()

        async def ready(drain: Drain) -> int:
            return (await channel.queue_declare(drain.queue, passive=True)).message_count or 0

        async def until_one_at_most(limits: list[tuple[Drain, int]]) -> None:
            while True:  # polled in turn: an RPC cancelled halfway would close the channel
                for drain, limit in limits:
                    if await ready(drain) <= limit:
                        return
                if time.monotonic() > deadline:
                    queues = " or ".join(drain.queue for drain, _ in limits)
                    raise RuntimeError(f"{queues} did not drain in time")
                await asyncio.sleep(POLL_SECONDS)

        targets = []
        for drain in drains:  # each starts once the one before it is consuming
            targets.append(await drain.start())
            await until_one_at_most([(drain, drain.total - 1)])
        for drain in drains:
            await until_one_at_most([(drain, drain.total - warm_up(drain.total))])
        counters = [await scrape_counters(target) for target in targets]
        before = [replace(r, counters=c) for r, c in zip(_readings(targets), counters, strict=True)]
        opened = [await ready(drain) for drain in drains]
        await until_one_at_most([(drain, warm_up(drain.total)) for drain in drains])
        closing = _readings(targets)
        moved = [first - await ready(drain) for first, drain in zip(opened, drains, strict=True)]
        counters = [await scrape_counters(target) for target in targets]
        after = [replace(r, counters=c) for r, c in zip(closing, counters, strict=True)]
    for drain in drains:
        await drain.finished()
    return await _window_costs(drains, targets, (before, after), moved, idle_seconds)


async def _window_costs(
    drains: list[Drain],
    targets: list[Target],
    window: tuple[list[Reading], list[Reading]],
    moved: list[int],
    idle_seconds: float,
) -> list[Cost]:
    """Each drain's cost per message over the window, its idle rate measured once it is empty."""
    costs = []
    for drain, target, before, after, operations in zip(
        drains, targets, *window, moved, strict=True
    ):
        if operations < drain.total // 10:
            raise RuntimeError(
                f"only {operations} of {drain.total} messages of {drain.queue} fell in the "
                "window: the backlogs drained faster than their readings could follow, or "
                "at very different speeds; make them larger"
            )
        idle = await idle_rates(target, idle_seconds)
        costs.append(window_cost(before, after, idle, operations, None))
    return costs


async def consumed(*urls: str) -> float:
    """Events handled by the consumers at these metrics endpoints."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        pages = [await client.get(url) for url in urls]
    return sum(counter_total(page.text, CONSUMED) or 0.0 for page in pages)


async def _consumer_drain(stack: Stack, plan: Plan, *, eligible: bool) -> Drain:
    """A consumer and its backlog: events all eligible, or all beyond the campaign."""
    events = plan.consumer_events if eligible else plan.fast_consumer_events
    kind = "eligible" if eligible else "beyond"
    name, campaign = f"consumer-{kind}", f"cost-{kind}-{stack.run_id}"
    slots = events if eligible else CAMPAIGN_SLOTS
    # The consumer declares and binds its queue (with its own arguments); stopped, it leaves
    # the queue to fill.
    try:
        await start_consumers(stack, [name], campaign, slots)
    finally:
        await stack.groups.stop_named(name)
    first_order = 1 if eligible else CAMPAIGN_SLOTS + 1
    account = f"{campaign}-account"
    await publish_backlog(stack.rabbitmq_url, stack.names, account, events, first_order=first_order)

    async def start() -> Target:
        child = await stack.start_consumer(name, campaign, slots)
        return Target("consumer", (child.pid,), (stack.consumer_metrics[name],))

    async def finished() -> None:
        await wait_handled(partial(consumed, stack.consumer_metrics[name]), events, "the consumer")

    return Drain(stack.names.queue, events, start, finished)


async def _bare_drain(stack: Stack, plan: Plan) -> Drain:
    """The bare loop waiting for its signal, with twice the fast path's backlog in its own
    queue (it drains faster)."""
    events = 2 * plan.fast_consumer_events
    queue = stack.names.bare_queue
    argv = [sys.executable, "-m", "benchmarks.bare_consumer", stack.rabbitmq_url, queue]
    argv += [str(plan.consumer_prefetch), str(events)]
    child = await stack.groups.start(
        "bare-consumer", argv, env=stack.base_env(), cwd=stack.work, capture_stdout=True
    )
    await read_prefixed_line(child, "READY=", 60)  # its queue is declared
    await publish_backlog(stack.rabbitmq_url, stack.names, "bare-account", events, to_queue=queue)

    async def start() -> Target:
        os.kill(child.pid, START_SIGNAL)
        return Target("bare loop", (child.pid,))

    async def finished() -> None:
        await read_prefixed_line(child, "ACKED=", drain_timeout(events))

    return Drain(queue, events, start, finished)


async def _costs(stack: Stack, plan: Plan, *drains: Drain) -> list[Cost]:
    try:
        return await drain_costs(
            list(drains), rabbitmq_url=stack.rabbitmq_url, idle_seconds=plan.idle_seconds
        )
    finally:
        await stack.groups.stop_named("consumer-beyond", "consumer-eligible", "bare-consumer")


async def consumer_phase(stack: Stack, plan: Plan) -> tuple[dict[str, Cost], Cost, list[float]]:
    """The consumer's cost per event beyond the campaign against the bare loop's, draining
    side by side in ``plan.fast_path_rounds`` paired rounds (the median round kept, every
    round's ratio returned); then per eligible event, alone. The stand-in (or the caller's
    server) must be up."""
    rounds: list[tuple[Cost, Cost]] = []
    for number in range(1, plan.fast_path_rounds + 1):
        consumer = await _consumer_drain(stack, plan, eligible=False)
        beyond, bare = await _costs(stack, plan, consumer, await _bare_drain(stack, plan))
        rounds.append((beyond, bare))
        say(
            f"  round {number}: beyond the campaign {beyond.cpu_per_op * 1000:.3f} ms CPU/event, "
            f"bare aio-pika loop {bare.cpu_per_op * 1000:.3f} ms "
            f"({ratio(beyond.cpu_per_op, bare.cpu_per_op):.2f})"
        )
    ratios = [ratio(beyond.cpu_per_op, bare.cpu_per_op) for beyond, bare in rounds]
    beyond, bare = rounds[sorted(range(len(rounds)), key=ratios.__getitem__)[len(rounds) // 2]]
    (eligible,) = await _costs(stack, plan, await _consumer_drain(stack, plan, eligible=True))
    say(f"  eligible: {eligible.cpu_per_op * 1000:.2f} ms CPU/event")
    return {"beyond": beyond, "eligible": eligible}, bare, ratios
