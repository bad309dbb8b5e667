"""What an operation costs a service: CPU seconds, MongoDB commands and AMQP publishes.

A ``Target`` is one service as the run sees it: its process groups (CPU from ``/proc``)
and its ``/metrics`` endpoints (counters, in the Prometheus text format). ``measure`` reads
both before and after an action and subtracts what the service does when idle, measured in
the same run.
"""

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.cpu import group_cpu, per_operation

COMMANDS_COUNTER = "mongodb_commands_total"
PUBLISHES_COUNTER = "login_outbox_published_total"
COUNTERS = (COMMANDS_COUNTER, PUBLISHES_COUNTER)
IDLE_SLICE_SECONDS = 0.5
QUIET_CPU = 0.05  # CPU s/s under which a service counts as settled after its start
SETTLE_TIMEOUT = 90.0
type Idling = tuple[Target, IdleRates]  # a target and its idle rates, measured beforehand
type Action = Callable[[], Awaitable[int]]  # runs the operations, returns how many succeeded
# Runs the operations of several services, returns how many succeeded: for all alike, or each's.
type ManyAction = Callable[[], Awaitable[int | list[int]]]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    process_groups: tuple[int, ...]
    metrics_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reading:
    at: float
    cpu: float
    counters: dict[str, float]
    main_threads_cpu: float = 0.0  # of which the processes' main threads (event loops)


@dataclass(frozen=True, slots=True)
class IdleRates:
    cpu: float  # CPU seconds per second
    counters: dict[str, float] = field(default_factory=dict)  # increments per second
    # Increments every window carries once, whatever its length: those of its closing scrape
    # (the login service reads its outbox backlog from MongoDB when /metrics is scraped).
    per_reading: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cost:
    """One operation's cost to one service, idle subtracted."""

    operations: int
    seconds: float
    cpu_per_op: float
    commands_per_op: float | None  # None: the service does not export the counter
    publishes_per_op: float | None
    database_cpu_per_op: float | None  # None: the database is not a process of this machine
    # Share of the window's CPU that was the idle rate subtracted: near 1, the per-operation
    # figure is what is left of a small difference of two large numbers.
    idle_share: float = float("nan")
    # Of ``cpu_per_op``, the main threads' (event loops', where the idle rate runs and is
    # subtracted); the rest ran on other threads (the login service's Argon2 threads).
    main_threads_cpu_per_op: float = float("nan")


def counter_total(text: str, name: str) -> float | None:
    """Counter ``name`` of a Prometheus text exposition summed over its labels, named with or
    without its ``_total`` suffix; None when it is not exported."""
    wanted = {name, name.removesuffix("_total") + "_total"}
    families = text_string_to_metric_families(text)
    values = [sample.value for f in families for sample in f.samples if sample.name in wanted]
    return sum(values) if values else None


async def scrape_counters(target: Target) -> dict[str, float]:
    """``target``'s counters summed over its endpoints; one missing at any endpoint (or an
    endpoint that does not answer 200) is left out: a partial sum would be wrong."""
    if not target.metrics_urls:
        return {}
    totals = dict.fromkeys(COUNTERS, 0.0)
    async with httpx.AsyncClient(timeout=10.0) as client:
        for url in target.metrics_urls:
            try:
                response = await client.get(url)
            except httpx.HTTPError:
                response = None
            text = response.text if response is not None and response.status_code == 200 else ""
            for name in list(totals):
                value = counter_total(text, name)
                if value is None:
                    del totals[name]
                else:
                    totals[name] += value
    return totals


def group_cpus(target: Target) -> tuple[float, float]:
    """CPU seconds of ``target``'s groups so far, and of which their main threads."""
    readings = [group_cpu(group) for group in target.process_groups]
    return sum(r.seconds for r in readings), sum(r.main_threads for r in readings)


async def read(target: Target, *, cpu_last: bool = False) -> Reading:
    """``target``'s CPU so far and its counters. Serving ``/metrics`` costs CPU: a reading
    that opens a window reads the CPU after scraping (``cpu_last``), one that closes it
    before, so no scrape is charged to the operations in between."""
    first = None if cpu_last else (group_cpus(target), time.monotonic())
    counters = await scrape_counters(target)
    (cpu, main_threads), at = first or (group_cpus(target), time.monotonic())
    return Reading(at, cpu, counters, main_threads)


async def cpu_slices(target: Target, seconds: float) -> list[float]:
    rates: list[float] = []
    end = time.monotonic() + seconds
    last, at = group_cpus(target)[0], time.monotonic()
    while (now := time.monotonic()) < end:
        await asyncio.sleep(min(IDLE_SLICE_SECONDS, end - now))
        cpu, then = group_cpus(target)[0], time.monotonic()
        if then - at > 0.05:
            rates.append((cpu - last) / (then - at))
        last, at = cpu, then
    return rates


async def wait_until_quiet(target: Target, window: float = 1.0) -> None:
    """Wait until ``target`` is done starting up: it answers its readiness probe once one
    worker is up, and the others' start-up (imports, index builds) would pass for idle CPU."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        rates = await cpu_slices(target, window)
        if rates and statistics.fmean(rates) < QUIET_CPU:
            return


async def idle_rates(target: Target, seconds: float) -> IdleRates:
    """What ``target`` spends per second doing nothing the run asked for, once settled.

    CPU: the median of half-second slices, so a start-up's tail or a one-off task does not
    pass for a rate. Counters: over a short and a long window, the difference is the
    background rate (pollers), the rest what each reading itself costs."""
    await wait_until_quiet(target)
    before = await read(target, cpu_last=True)
    rates = await cpu_slices(target, seconds / 3)
    middle = await read(target)
    rates += await cpu_slices(target, seconds * 2 / 3)
    after = await read(target)
    cpu = statistics.median(rates) if rates else (after.cpu - before.cpu) / (after.at - before.at)
    idle = IdleRates(cpu)
    for name in after.counters.keys() & middle.counters.keys() & before.counters.keys():
        idle.counters[name], idle.per_reading[name] = split_counter(
            (middle.counters[name] - before.counters[name], middle.at - before.at),
            (after.counters[name] - middle.counters[name], after.at - middle.at),
        )
    return idle


def split_counter(short: tuple[float, float], long: tuple[float, float]) -> tuple[float, float]:
    """(rate per second, increments per reading) from two windows' (delta, seconds)."""
    (short_delta, short_s), (long_delta, long_s) = short, long
    if long_s <= short_s:
        return (short_delta + long_delta) / (short_s + long_s), 0.0
    rate = max(0.0, (long_delta - short_delta) / (long_s - short_s))
    return rate, max(0.0, short_delta - rate * short_s)


def counter_per_op(
    name: str, before: Reading, after: Reading, idle: IdleRates, operations: int
) -> float | None:
    if name not in before.counters or name not in after.counters or operations <= 0:
        return None
    delta = after.counters[name] - before.counters[name]
    background = idle.counters.get(name, 0.0) * (after.at - before.at)
    return max(0.0, delta - background - idle.per_reading.get(name, 0.0)) / operations


def window_cost(
    before: Reading, after: Reading, idle: IdleRates, operations: int, database_cpu: float | None
) -> Cost:
    seconds = after.at - before.at
    busy = after.cpu - before.cpu
    main_threads = after.main_threads_cpu - before.main_threads_cpu
    return Cost(
        operations=operations,
        seconds=seconds,
        cpu_per_op=per_operation(busy, idle.cpu, seconds, operations),
        commands_per_op=counter_per_op(COMMANDS_COUNTER, before, after, idle, operations),
        publishes_per_op=counter_per_op(PUBLISHES_COUNTER, before, after, idle, operations),
        database_cpu_per_op=database_cpu,
        idle_share=min(1.0, idle.cpu * seconds / busy) if busy > 0 else float("nan"),
        main_threads_cpu_per_op=per_operation(main_threads, idle.cpu, seconds, operations),
    )


async def measure_many(
    services: list[Idling], action: ManyAction, database: Idling | None = None
) -> list[Cost]:
    """Run ``action`` and cost it for each service, over one window, per operation: one count
    for all, or one per service. The database's CPU per operation (over every service's
    operations when counted apart), where known, as context."""
    targets = [target for target, _ in services] + ([database[0]] if database else [])
    before = [await read(target, cpu_last=True) for target in targets]
    done = await action()
    after = [await read(target) for target in targets]
    counts, total = (done, sum(done)) if isinstance(done, list) else ([done] * len(services), done)
    database_cpu = None
    if database:
        db_before, db_after = before[-1], after[-1]
        seconds = db_after.at - db_before.at
        database_cpu = per_operation(db_after.cpu - db_before.cpu, database[1].cpu, seconds, total)
    return [
        window_cost(before[index], after[index], idle, counts[index], database_cpu)
        for index, (_, idle) in enumerate(services)
    ]


async def measure_side_by_side(
    sides: list[tuple[Idling, Action]], database: Idling | None = None
) -> list[Cost]:
    """Run each service's action at the same time, each costed to its own service over one
    shared window: the machine's drift (a shared core's speed moves by tens of percent within
    a minute) moves both sides alike, where it moves two windows taken one after the other
    apart."""

    async def together() -> list[int]:
        return list(await asyncio.gather(*(action() for _, action in sides)))

    return await measure_many([idling for idling, _ in sides], together, database)


async def measure(
    service: Target, service_idle: IdleRates, action: Action, database: Idling | None = None
) -> Cost:
    """``measure_many`` for one service."""
    return (await measure_many([(service, service_idle)], action, database))[0]


def ratio(value: float, floor: float) -> float:
    return value / floor if floor > 0 and not math.isnan(value) else float("nan")
