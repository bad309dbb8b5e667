"""measure(): CPU of a process group over an action, per operation, idle subtracted."""

import asyncio
import os
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.cpu import main_thread_seconds
from benchmarks.meter import (
    IdleRates,
    Reading,
    Target,
    cpu_slices,
    measure,
    measure_side_by_side,
    read,
    wait_until_quiet,
    window_cost,
)


def _burn(seconds: float) -> None:
    end = os.times().user + seconds
    while os.times().user < end:
        pass


def test_measure_charges_the_action_cpu_to_each_operation() -> None:
    own_group = Target("this test", (os.getpgrp(),))

    async def action() -> int:
        _burn(0.3)
        return 3

    cost = asyncio.run(measure(own_group, IdleRates(cpu=0.0), action))
    # About 0.1 s per operation; clock ticks are 10 ms, and other processes may share the
    # group, so only a lower bound holds.
    assert cost.operations == 3
    assert cost.cpu_per_op >= 0.08
    assert cost.commands_per_op is None  # no /metrics: unknown, not zero


def test_wait_until_quiet_returns_once_the_group_is_idle() -> None:
    own_group = Target("this test", (os.getpgrp(),))
    asyncio.run(wait_until_quiet(own_group, window=0.2))


def test_a_cost_says_what_share_of_its_window_cpu_was_the_idle_rate_subtracted() -> None:
    before, after = Reading(10.0, 1.0, {}), Reading(70.0, 1.6, {})  # 60 s, 0.6 CPU s
    cost = window_cost(before, after, IdleRates(cpu=0.005), operations=9, database_cpu=None)
    assert round(cost.idle_share, 3) == 0.5  # 0.3 of the 0.6 CPU seconds
    assert round(cost.cpu_per_op, 4) == round(0.3 / 9, 4)


def test_a_cost_gives_the_main_threads_share_per_operation() -> None:
    before = Reading(0.0, 1.0, {}, main_threads_cpu=0.2)
    after = Reading(10.0, 3.0, {}, main_threads_cpu=0.7)  # 2 s, 0.5 s of it main threads
    cost = window_cost(before, after, IdleRates(cpu=0.01), operations=100, database_cpu=None)
    # 0.1 s of idle CPU in the 10 s window, charged to the loops, where it runs.
    assert round(cost.cpu_per_op, 6) == 0.019
    assert round(cost.main_threads_cpu_per_op, 6) == 0.004


def test_a_main_thread_is_read_from_its_schedstat_in_nanoseconds(tmp_path: Path) -> None:
    (tmp_path / "7" / "task" / "7").mkdir(parents=True)
    (tmp_path / "7" / "task" / "7" / "schedstat").write_text("1234567 50 3\n")
    assert main_thread_seconds(7, tmp_path) == 0.001234567
    assert main_thread_seconds(8, tmp_path) == 0.0  # gone: nothing


def test_a_one_off_burst_does_not_pass_for_an_idle_rate() -> None:
    # A process of its own group burns 0.25 s of CPU once, then sleeps, in a 6 s window:
    # 0.04 s/s on average, but the median slice (what idle_rates takes) sees the quiet.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "end = time.process_time() + 0.25\n"
            "while time.process_time() < end: pass\n"
            "time.sleep(60)\n",
        ],
        process_group=0,
    )
    try:
        rates = asyncio.run(cpu_slices(Target("a burst", (child.pid,)), 6.0))
    finally:
        child.kill()
        child.wait()
    assert len(rates) >= 10
    assert max(rates) > 0.1
    assert statistics.median(rates) < 0.02


def test_the_metrics_scrapes_that_open_and_close_a_window_are_not_charged_to_it() -> None:
    # The /metrics endpoint is served by this process and burns 0.2 s per scrape.
    body = b'mongodb_commands_total{command="find"} 3.0\n'

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        _burn(0.2)
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    async def window() -> tuple[float, float]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        target = Target("this test", (os.getpgrp(),), (f"http://127.0.0.1:{port}/metrics",))
        async with server:
            before = await read(target, cpu_last=True)
            after = await read(target)
        return after.cpu - before.cpu, after.counters["mongodb_commands_total"]

    charged, commands = asyncio.run(window())
    assert commands == 3.0
    assert charged < 0.1  # two scrapes burnt 0.4 s, outside the window


def test_side_by_side_costs_each_service_by_its_own_operations_over_one_window() -> None:
    own_group = Target("this test", (os.getpgrp(),))
    idling = (own_group, IdleRates(cpu=0.0))

    def side(operations: int) -> Callable[[], Awaitable[int]]:
        async def action() -> int:
            await asyncio.sleep(0.05)  # both run before either has finished
            _burn(0.15)
            return operations

        return action

    first, second = asyncio.run(
        measure_side_by_side([(idling, side(3)), (idling, side(6))], database=idling)
    )
    # One window (the same group here), each side's CPU divided by its own operations.
    assert (first.operations, second.operations) == (3, 6)
    assert abs(first.seconds - second.seconds) < 0.05
    assert abs(first.cpu_per_op / second.cpu_per_op - 2.0) < 0.02
    # The database's CPU over every side's operations.
    assert first.database_cpu_per_op is not None
    assert abs(first.database_cpu_per_op / (first.cpu_per_op * 3 / 9) - 1) < 0.02
