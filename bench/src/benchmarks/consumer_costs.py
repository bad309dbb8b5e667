"""Per-event costs of the promotion consumer, and of a bare consume-and-ack loop (the floor).

Each step starts one process, measures its idle CPU, publishes a backlog and costs the
window from the first publish to the last acknowledgement. The consumer's progress is
read from its own ``promotion_events_consumed_total``; the bare loop prints when done.
"""

import asyncio
import sys
import time

import httpx

from benchmarks.broker import publish_backlog, wait_for_consumers
from benchmarks.meter import Cost, Target, idle_rates, measure
from benchmarks.plan import Plan
from benchmarks.processes import read_prefixed_line
from benchmarks.progress import say
from benchmarks.prom_text import counter_total
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


async def consumer_cost(stack: Stack, plan: Plan, *, eligible: bool) -> Cost:
    """One consumer process handling events all eligible (``plan.consumer_events``) or all
    beyond the campaign (orders above its slots, ``plan.fast_consumer_events``)."""
    events = plan.consumer_events if eligible else plan.fast_consumer_events
    kind = "eligible" if eligible else "beyond"
    name = f"consumer-{kind}"
    campaign = f"cost-{kind}-{stack.run_id}"
    slots = events if eligible else CAMPAIGN_SLOTS
    child = await stack.start_consumer(name, campaign, slots)
    try:
        await wait_for_consumers(stack.rabbitmq_url, stack.names.queue, 1)
        url = stack.consumer_metrics[name]
        target = Target("consumer", (child.process.pid,), (url,))
        idle = await idle_rates(target, plan.idle_seconds)
        start = await _consumed(url)

        async def action() -> int:
            await publish_backlog(
                stack.rabbitmq_url,
                stack.names,
                f"{campaign}-account",
                events,
                first_order=1 if eligible else CAMPAIGN_SLOTS + 1,
            )
            await _wait_consumed(url, start + events, timeout=max(180.0, events / 2.0))
            return events

        return await measure(target, idle, action)
    finally:
        await stack.groups.stop(child)


async def bare_loop_cost(stack: Stack, plan: Plan) -> Cost:
    """As many events as the step beyond the campaign, through a bare aio-pika loop at the
    consumer's prefetch."""
    events = plan.fast_consumer_events
    argv = [
        sys.executable,
        "-m",
        "benchmarks.bare_consumer",
        stack.rabbitmq_url,
        stack.names.bare_queue,
        str(plan.consumer_prefetch),
        str(events),
    ]
    child = await stack.groups.start(
        "bare-consumer", argv, env=stack.base_env(), cwd=stack.work, capture_stdout=True
    )
    try:
        await read_prefixed_line(child, "READY=", timeout=60)
        target = Target("bare loop", (child.process.pid,))
        idle = await idle_rates(target, plan.idle_seconds)

        async def action() -> int:
            await publish_backlog(
                stack.rabbitmq_url,
                stack.names,
                "bare-account",
                events,
                to_queue=stack.names.bare_queue,
            )
            await read_prefixed_line(child, "ACKED=", timeout=max(120.0, events / 10.0))
            return events

        return await measure(target, idle, action)
    finally:
        await stack.groups.stop(child)


async def consumer_phase(stack: Stack, plan: Plan) -> tuple[dict[str, Cost], Cost]:
    """The consumer's cost per event beyond the campaign and per eligible event, and the
    bare loop's; the stand-in (or the caller's server) must be up."""
    costs: dict[str, Cost] = {}
    for eligible in (False, True):
        key = "eligible" if eligible else "beyond"
        costs[key] = await consumer_cost(stack, plan, eligible=eligible)
        say(f"  {key}: {costs[key].cpu_per_op * 1000:.2f} ms CPU/event")
    bare = await bare_loop_cost(stack, plan)
    say(f"  bare aio-pika loop: {bare.cpu_per_op * 1000:.2f} ms CPU/event")
    return costs, bare
