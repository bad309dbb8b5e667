"""measure(): CPU of a process group over an action, per operation, idle subtracted."""

import asyncio
import os

from benchmarks.meter import IdleRates, Reading, Target, _cost, measure, wait_until_quiet


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
    cost = _cost(before, after, IdleRates(cpu=0.005), operations=9, database_cpu=None)
    assert round(cost.idle_share, 3) == 0.5  # 0.3 of the 0.6 CPU seconds
    assert round(cost.cpu_per_op, 4) == round(0.3 / 9, 4)
