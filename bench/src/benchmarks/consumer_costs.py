"""Per-event costs of the promotion consumer, and of a bare consume-and-ack loop (the floor).

Each step publishes a backlog, then starts the process that drains it, and costs the steady
middle of the drain (``queue_cost``); the fast path and the bare loop drain side by side.
The consumer's progress is read from its own ``promotion_events_consumed_total``; the bare
loop prints when done.
"""

import asyncio
import os
import sys
import time

import aio_pika
import httpx

from benchmarks.bare_consumer import START_SIGNAL
from benchmarks.broker import publish_backlog, wait_for_consumers
from benchmarks.meter import Cost, Target, ratio
from benchmarks.plan import Plan
from benchmarks.processes import read_prefixed_line
from benchmarks.progress import say
from benchmarks.prom_text import counter_total
from benchmarks.queue_cost import Drain, drain_costs
from benchmarks.stack import Stack

CAMPAIGN_SLOTS = 100  # the default campaign's size: events beyond it cannot win
CONSUMED = "promotion_events_consumed_total"


async def _consumed(url: str) -> float:
    async with httpx.AsyncClient(timeout=10.0) as client:
        text = (await client.get(url)).text
    return counter_total(text, CONSUMED) or 0.0


async def _wait_consumed(url: str, target: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while (done := await _consumed(url)) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the consumer handled {done:.0f} of {target:.0f} events")
        if time.monotonic() - last_report > 10:
            say(f"    {done:.0f}/{target:.0f} events handled")
            last_report = time.monotonic()
        await asyncio.sleep(0.2)


async def _consumer_drain(stack: Stack, plan: Plan, *, eligible: bool) -> Drain:
    """One consumer process and its backlog: events all eligible (``plan.consumer_events``)
    or all beyond the campaign (orders above its slots, ``plan.fast_consumer_events``)."""
    events = plan.consumer_events if eligible else plan.fast_consumer_events
    kind = "eligible" if eligible else "beyond"
    name = f"consumer-{kind}"
    campaign = f"cost-{kind}-{stack.run_id}"
    slots = events if eligible else CAMPAIGN_SLOTS
    # The consumer declares its queue (with its own arguments) and binds it; stopped, it
    # leaves the queue to fill.
    first = await stack.start_consumer(name, campaign, slots)
    try:
        await wait_for_consumers(stack.rabbitmq_url, stack.names.queue, 1)
    finally:
        await stack.groups.stop(first)
    await publish_backlog(
        stack.rabbitmq_url,
        stack.names,
        f"{campaign}-account",
        events,
        first_order=1 if eligible else CAMPAIGN_SLOTS + 1,
    )

    async def start() -> Target:
        child = await stack.start_consumer(name, campaign, slots)
        return Target("consumer", (child.pid,), (stack.consumer_metrics[name],))

    async def finished() -> None:
        await _wait_consumed(stack.consumer_metrics[name], events, timeout=_timeout(events))

    return Drain(stack.names.queue, events, start, finished)


async def _bare_drain(stack: Stack, plan: Plan) -> Drain:
    """The bare loop, started and waiting for its signal, and twice as many events as the
    step beyond the campaign in its own queue: it drains faster, and the window closes when
    the first of the two queues gets down to its last tenth."""
    events = 2 * plan.fast_consumer_events
    queue = stack.names.bare_queue
    connection = await aio_pika.connect_robust(stack.rabbitmq_url)
    async with connection:
        await (await connection.channel()).declare_queue(queue, durable=True)
    await publish_backlog(stack.rabbitmq_url, stack.names, "bare-account", events, to_queue=queue)
    argv = [sys.executable, "-m", "benchmarks.bare_consumer", stack.rabbitmq_url, queue]
    argv += [str(plan.consumer_prefetch), str(events)]
    env = stack.base_env()
    child = await stack.groups.start(
        "bare-consumer", argv, env=env, cwd=stack.work, capture_stdout=True
    )
    await read_prefixed_line(child, "READY=", timeout=60)

    async def start() -> Target:
        os.kill(child.pid, START_SIGNAL)
        return Target("bare loop", (child.pid,))

    async def finished() -> None:
        await read_prefixed_line(child, "ACKED=", timeout=_timeout(events))

    return Drain(queue, events, start, finished)


def _timeout(events: int) -> float:
    return max(180.0, events / 2.0)


async def fast_path_round(stack: Stack, plan: Plan) -> tuple[Cost, Cost]:
    """The consumer on events beyond the campaign and the bare loop, draining side by side."""
    consumer = await _consumer_drain(stack, plan, eligible=False)
    bare = await _bare_drain(stack, plan)
    try:
        beyond, floor = await drain_costs(
            [consumer, bare],
            rabbitmq_url=stack.rabbitmq_url,
            idle_seconds=plan.idle_seconds,
            timeout=_timeout(plan.fast_consumer_events),
        )
    finally:
        await stack.groups.stop_named("consumer-beyond", "bare-consumer")
    return beyond, floor


async def eligible_cost(stack: Stack, plan: Plan) -> Cost:
    """The consumer on eligible events (each its claim transaction), alone."""
    drain = await _consumer_drain(stack, plan, eligible=True)
    try:
        (cost,) = await drain_costs(
            [drain],
            rabbitmq_url=stack.rabbitmq_url,
            idle_seconds=plan.idle_seconds,
            timeout=_timeout(plan.consumer_events),
        )
    finally:
        await stack.groups.stop_named("consumer-eligible")
    return cost


async def consumer_phase(stack: Stack, plan: Plan) -> tuple[dict[str, Cost], Cost, list[float]]:
    """The consumer's cost per event beyond the campaign, against the bare loop's, in
    ``plan.fast_path_rounds`` paired rounds (the median round kept, every round's ratio
    returned: the machine's drift moves both sides of a pair alike); then per eligible
    event. The stand-in (or the caller's server) must be up."""
    rounds: list[tuple[Cost, Cost]] = []
    for number in range(1, plan.fast_path_rounds + 1):
        beyond, bare = await fast_path_round(stack, plan)
        rounds.append((beyond, bare))
        say(
            f"  round {number}: beyond the campaign {beyond.cpu_per_op * 1000:.3f} ms CPU/event, "
            f"bare aio-pika loop {bare.cpu_per_op * 1000:.3f} ms "
            f"({ratio(beyond.cpu_per_op, bare.cpu_per_op):.2f})"
        )
    ratios = [ratio(beyond.cpu_per_op, bare.cpu_per_op) for beyond, bare in rounds]
    median = sorted(range(len(rounds)), key=ratios.__getitem__)[len(rounds) // 2]
    beyond, bare = rounds[median]
    eligible = await eligible_cost(stack, plan)
    say(f"  eligible: {eligible.cpu_per_op * 1000:.2f} ms CPU/event")
    return {"beyond": beyond, "eligible": eligible}, bare, ratios
